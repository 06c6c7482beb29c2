import { join } from 'node:path';
import { DataSource, MigrationExecutor, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';
import { createPgliteDriver } from './pglite-driver.js';

/** Any 64-bit constant: the advisory lock key that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 7_163_820_145_221n;

/** PostgreSQL at DATABASE_URL, or (embedded mode) the PGlite engine keeping its data in DATA_DIR. */
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
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: statementTimeoutMs * 2,
      application_name: 'parley',
    },
  };
}

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so that replicas starting
 * at once apply each migration exactly once (TypeORM's migrationsRun alone races).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<number> {
  if (isEmbedded(dataSource)) {
    // One process owns the embedded engine, and it has a single session to lock with.
    return (await dataSource.runMigrations({ transaction: 'each' })).length;
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      // On the lock's own connection: a pool of one must not wait for a second connection.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      return (await executor.executePendingMigrations()).length;
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    await runner.release();
  }
}

function isEmbedded(dataSource: DataSource): boolean {
  return 'driver' in dataSource.options && dataSource.options.driver !== undefined;
}

/** Opens the pool and brings the schema up to date. */
export async function openDataSource(config: AppConfig): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions(config));
  await dataSource.initialize();
  try {
    await runMigrationsLocked(dataSource);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
