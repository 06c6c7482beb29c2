import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { runMigrationsLocked } from './migration-runner.js';
import { MIGRATIONS } from './migrations/index.js';
import { createPgliteDriver } from './pglite-driver.js';
import { PreparedStatementsClient, transactionTimeoutsClient } from './transaction-timeouts.client.js';

export { runMigrationsLocked } from './migration-runner.js';

/**
 * The process's pool: PostgreSQL at DATABASE_URL (directly or through PgBouncer in transaction
 * mode), or (embedded mode) the PGlite engine keeping its data in DATA_DIR. Straight to PostgreSQL
 * (no DATABASE_DIRECT_URL apart from DATABASE_URL), each connection gets its timeouts once, as
 * startup parameters. Through PgBouncer, which refuses them and hands transactions to any server
 * connection, the only startup parameter is `application_name` and every transaction sets its
 * own timeouts (transaction-timeouts.client.ts): four statements on the server for each one alone.
 * Either way the connections pipeline (PipelinedClient); straight to PostgreSQL they also prepare
 * each parameterised statement once (PreparedStatementsClient), which PgBouncer would lose.
 */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const { url, directUrl, poolSize, connectTimeoutMs, statementTimeoutMs, dataDir } = config.database;
  const timeouts = { statementMs: statementTimeoutMs, idleInTransactionMs: statementTimeoutMs * 2 };
  const perConnection = url !== undefined && directUrl === url;
  return {
    type: 'postgres',
    ...(url === undefined ? { driver: createPgliteDriver(join(dataDir, 'pglite')) } : { url }),
    // The schema is the migrations'; repositories run SQL and map rows themselves (no entities).
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    // Each migration in its own transaction, or none for one that builds indexes online
    // (migrations/online-index.ts): also what `npm run migration:run` (TypeORM's CLI) applies.
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'parley',
      ...(perConnection
        ? {
            Client: PreparedStatementsClient,
            statement_timeout: timeouts.statementMs,
            idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
          }
        : { Client: transactionTimeoutsClient(timeouts) }),
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
