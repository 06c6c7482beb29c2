import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config.variables.js';
import { runMigrationsLocked } from './migration-runner.js';
import { MIGRATIONS } from './migrations/index.js';
import { createPgliteDriver } from './pglite-driver.js';
import { PipelinedClient, PreparedStatementsClient, transactionTimeoutsClient } from './transaction-timeouts.client.js';

export { runMigrationsLocked } from './migration-runner.js';

/**
 * The process's pool: PostgreSQL at DATABASE_URL (directly or through PgBouncer in transaction
 * mode), or (embedded mode) the PGlite engine keeping its data in DATA_DIR. Straight to PostgreSQL
 * (no DATABASE_DIRECT_URL apart from DATABASE_URL), each connection gets its timeouts once, as
 * startup parameters. Through PgBouncer, which refuses them and hands transactions to any server
 * connection, the only startup parameter is `application_name` and every transaction sets its
 * own timeouts (transaction-timeouts.client.ts): four statements on the server for each one alone.
 * Either way the connections pipeline (PipelinedClient); straight to PostgreSQL they also prepare
 * each parameterised statement once (PreparedStatementsClient), which PgBouncer would lose unless
 * it keeps prepared statements (1.21 and later, `max_prepared_statements` above 0): with
 * DATABASE_POOLER_PREPARED_STATEMENTS they prepare through it too (checked by openDataSource).
 */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const { url, directUrl, poolSize, connectTimeoutMs, statementTimeoutMs, dataDir, poolerPreparedStatements } =
    config.database;
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
        : {
            Client: transactionTimeoutsClient(
              timeouts,
              poolerPreparedStatements ? PreparedStatementsClient : PipelinedClient,
            ),
          }),
    },
  };
}

/**
 * Opens the pool. In embedded mode the one process owns the engine and migrates it here; with
 * PostgreSQL the migrations run on a direct connection of their own (see migration-runner.ts).
 */
export async function openDataSource(config: AppConfig): Promise<DataSource> {
  const { url, directUrl, poolerPreparedStatements } = config.database;
  if (url !== undefined && url !== directUrl && poolerPreparedStatements) {
    await checkPoolerKeepsPreparedStatements(url);
  }
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

/** The statement the check below prepares (under a name of its own each time). */
const PROBE_TEXT = 'SELECT $1::int AS parley_pooler_probe';

/**
 * DATABASE_POOLER_PREPARED_STATEMENTS on a PgBouncer that does not keep prepared statements (before
 * 1.21, or `max_prepared_statements = 0`) would fail requests at random, whenever a transaction
 * meets a server connection its statements were not prepared on: the process refuses to start
 * instead. A PgBouncer that keeps them prepares a client's statement on the server under a name of
 * its own; one that does not passes the client's name through. One transaction (one server
 * connection, in transaction mode) prepares a statement and asks the server under which name it
 * has it, then drops it.
 */
async function checkPoolerKeepsPreparedStatements(url: string): Promise<void> {
  const name = `parley_pooler_probe_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url, application_name: 'parley' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query({ name, text: PROBE_TEXT, values: [1] });
    const { rows } = await client.query<{ name: string }>(
      'SELECT name FROM pg_prepared_statements WHERE statement = $1',
      [PROBE_TEXT],
    );
    const passedThrough = rows.some((row) => row.name === name);
    if (passedThrough) {
      await client.query(`DEALLOCATE ${name}`);
    }
    await client.query('COMMIT');
    if (rows.length === 0 || passedThrough) {
      throw new ConfigError(
        'DATABASE_POOLER_PREPARED_STATEMENTS',
        'is true, but DATABASE_URL does not keep prepared statements (it needs PgBouncer 1.21 or later with max_prepared_statements above 0)',
      );
    }
  } finally {
    await client.end();
  }
}
