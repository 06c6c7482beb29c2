import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { runMigrationsLocked } from './migration-runner.js';
import { MIGRATIONS } from './migrations/index.js';
import { createPgliteDriver } from './pglite-driver.js';
import { transactionTimeoutsClient } from './transaction-timeouts.client.js';

export { runMigrationsLocked } from './migration-runner.js';

/**
 * The process's pool: PostgreSQL at DATABASE_URL (directly or through PgBouncer in transaction
 * mode), or (embedded mode) the PGlite engine keeping its data in DATA_DIR. No startup parameter
 * but `application_name` (which PgBouncer accepts); the timeouts are set per transaction.
 */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const { url, poolSize, connectTimeoutMs, statementTimeoutMs, dataDir } = config.database;
  return {
    type: 'postgres',
    ...(url === undefined ? { driver: createPgliteDriver(join(dataDir, 'pglite')) } : { url }),
    // The schema is the migrations'; repositories run SQL and map rows themselves (no entities).
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'parley',
      Client: transactionTimeoutsClient({ statementMs: statementTimeoutMs, idleInTransactionMs: statementTimeoutMs * 2 }),
    },
  };
}

/**
 * Opens the pool. In embedded mode the one process owns the engine and migrates it here; with
 * PostgreSQL the migrations run on a direct connection of their own (see migration-runner.ts).
 */
export async function openDataSource(config: AppConfig): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions(config));
  await dataSource.initialize();
  if (config.database.url === undefined) {
    try {
      await runMigrationsLocked(dataSource);
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
  }
  return dataSource;
}
