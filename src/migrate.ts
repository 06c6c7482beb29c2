/**
 * `npm run migrate` / `node dist/migrate.js`: applies pending migrations under the advisory lock
 * and exits 0; on failure, one line on stderr and a non-zero exit. Run it as its own step (a
 * Kubernetes Job before the rollout) with MIGRATE_ON_START=false on the pods.
 */
import 'reflect-metadata';
import { createLogger } from './common/logger.js';
import { loadConfig } from './config/app-config.js';
import { ConfigError } from './config/config.variables.js';
import { migrate, migrationFailureLine } from './database/migration-runner.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    throw error;
  }
  if (config.database.url === undefined) {
    process.stderr.write(
      'Migrations failed: DATABASE_URL is not set (embedded mode migrates its own engine at start)\n',
    );
    return 78;
  }
  try {
    await migrate(config, createLogger(config.logLevel));
    return 0;
  } catch (error) {
    process.stderr.write(`${migrationFailureLine(error)}\n`);
    return 1;
  }
}

process.exitCode = await main();
