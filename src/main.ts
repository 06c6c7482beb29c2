import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter } from './app.setup.js';
import { embeddedBanner } from './common/banner.js';
import { LifecycleService } from './common/lifecycle.service.js';
import { createLogger, PinoLoggerService } from './common/logger.js';
import { loadConfig, type AppConfig } from './config/app-config.js';
import { ConfigError } from './config/config.variables.js';
import { migrate, migrationFailureLine } from './database/migration-runner.js';

function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
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
  const logger = createLogger(config.logLevel);
  await migrateOnStartOrExit(config, logger);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger),
    createFastifyAdapter(config),
    // The adapter registers the one body parser (JSON, depth-checked); no form or text bodies.
    { logger: new PinoLoggerService(logger), bodyParser: false },
  );
  await configureApp(app);
  handleShutdown(app, config, logger);
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  logger.info({ port, mode: config.mode, role: config.role }, `Parley listening on port ${port}`);
  if (config.mode === 'embedded') {
    process.stdout.write(embeddedBanner(config, port));
  }
}

await bootstrap();
