import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter } from './app.setup.js';
import { embeddedBanner } from './common/banner.js';
import { LifecycleService } from './common/lifecycle.service.js';
import { listenOnSockets } from './common/listen-sockets.js';
import { createLogger, PinoLoggerService } from './common/logger.js';
import { loadConfig, type AppConfig } from './config/app-config.js';
import { ConfigError } from './config/config.variables.js';
import { migrate, migrationFailureLine } from './database/migration-runner.js';
import { acquireDataDirLock, DataDirLockedError } from './database/data-dir-lock.util.js';

/** Exit codes of a failed start (sysexits): bad configuration, folder in use, anything else. */
const EXIT_CONFIG = 78;
const EXIT_IN_USE = 75;
const EXIT_FAILED = 1;
/** How long a failed start may spend closing what it opened before it exits. */
const FAILED_START_CLOSE_MS = 5000;

/** Any failed start is one line on stderr, never a stack trace. */
function failStart(message: string, code: number): never {
  process.stderr.write(`Parley could not start: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

function describeStartError(error: unknown, config: AppConfig): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.http.host}:${config.http.port}`;
  if (code === 'EADDRINUSE') {
    return `port ${config.http.port} is already in use on ${config.http.host} (is Parley already running? set PORT to use another)`;
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return `cannot listen on ${where} (${code}); check HOST and PORT`;
  }
  return error instanceof Error ? error.message : String(error);
}

function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

/** On SIGTERM: readiness turns 503 at once, the drain delay passes, then in-flight work finishes. */
function handleShutdown(app: NestFastifyApplication, config: AppConfig, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    app.get(LifecycleService).beginShutdown();
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs: config.shutdown.graceMs }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdown.drainDelayMs + config.shutdown.graceMs).unref();
    await sleep(config.shutdown.drainDelayMs);
    await app.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

/** Embedded mode: this process takes the data folder before anything in it is opened. */
async function lockDataDir(config: AppConfig): Promise<void> {
  if (config.database.url !== undefined) {
    return;
  }
  try {
    await acquireDataDirLock(config.database.dataDir);
  } catch (error) {
    failStart(
      error instanceof Error ? error.message : String(error),
      error instanceof DataDirLockedError ? EXIT_IN_USE : EXIT_FAILED,
    );
  }
}

/**
 * With MIGRATE_ON_START (the default) the schema is brought up to date before anything opens,
 * waiting for another process's migrations up to MIGRATION_LOCK_TIMEOUT_MS. Without it, the
 * process starts anyway and stays unready while the schema is behind (SchemaStatusService).
 */
async function migrateOnStartOrExit(config: AppConfig, logger: Logger): Promise<void> {
  if (config.database.url === undefined || !config.database.migrateOnStart) {
    return;
  }
  try {
    await migrate(config, logger);
  } catch (error) {
    process.stderr.write(`${migrationFailureLine(error)}\n`);
    process.exit(1);
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  await lockDataDir(config);
  const logger = createLogger(config.logLevel);
  await migrateOnStartOrExit(config, logger);
  let app: NestFastifyApplication | undefined;
  try {
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, logger),
      createFastifyAdapter(config),
      // The adapter registers the one body parser (JSON, depth-checked); no form or text bodies.
      { logger: new PinoLoggerService(logger), bodyParser: false, abortOnError: false },
    );
    await configureApp(app);
    handleShutdown(app, config, logger);
    await listenOnSockets(app, {
      port: config.http.port,
      host: config.http.host,
      backlog: config.http.listenBacklog,
      sockets: config.http.listenSockets,
      maxConnections: config.http.maxConnections,
    });
  } catch (error) {
    logger.debug({ err: error }, 'start failed');
    // Close what was opened (the embedded database above all) before leaving.
    await Promise.race([app?.close().catch(() => undefined), sleep(FAILED_START_CLOSE_MS)]);
    failStart(describeStartError(error, config), error instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILED);
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  logger.info({ port, mode: config.mode, role: config.role }, `Parley listening on port ${port}`);
  if (config.mode === 'embedded') {
    process.stdout.write(embeddedBanner(config, port));
  }
}

await bootstrap();
