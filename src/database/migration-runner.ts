import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, MigrationExecutor, type MigrationInterface, type QueryRunner } from 'typeorm';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';

/** Any 64-bit constant: the advisory lock key that serialises migrations across processes. */
const MIGRATION_LOCK_KEY = 7_163_820_145_221n.toString();
const LOCK_POLL_MS = 250;
/** While waiting for the lock, how often to say so again. */
const WAIT_LOG_EVERY_MS = 15_000;

export class MigrationLockTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(
      `another process held the migration lock for ${Math.round(waitedMs / 1000)} s (MIGRATION_LOCK_TIMEOUT_MS); giving up`,
    );
    this.name = 'MigrationLockTimeoutError';
  }
}

export interface MigrationLockOptions {
  readonly lockTimeoutMs?: number;
  /** Called when the lock is busy (once), then every WAIT_LOG_EVERY_MS while still waiting. */
  readonly onWait?: (waitedMs: number) => void;
}

/**
 * Takes the session-level advisory lock, polling with pg_try_advisory_lock: the wait is bounded by
 * `lockTimeoutMs` and never by a statement timeout, and it can be reported while it lasts.
 */
async function acquireLock(runner: QueryRunner, options: MigrationLockOptions): Promise<void> {
  const started = Date.now();
  let reportedAt: number | undefined;
  for (;;) {
    const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])) as Array<{
      locked: boolean;
    }>;
    if (rows[0]?.locked === true) {
      return;
    }
    const waited = Date.now() - started;
    if (waited >= (options.lockTimeoutMs ?? 600_000)) {
      throw new MigrationLockTimeoutError(waited);
    }
    if (reportedAt === undefined || Date.now() - reportedAt >= WAIT_LOG_EVERY_MS) {
      reportedAt = Date.now();
      options.onWait?.(waited);
    }
    await sleep(LOCK_POLL_MS);
  }
}

function isEmbedded(dataSource: DataSource): boolean {
  return 'driver' in dataSource.options && dataSource.options.driver !== undefined;
}

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so that processes starting
 * at once apply each migration exactly once (TypeORM's migrationsRun alone races). The lock is a
 * session's: `dataSource` must reach PostgreSQL directly, never through PgBouncer in transaction mode.
 */
export async function runMigrationsLocked(dataSource: DataSource, options: MigrationLockOptions = {}): Promise<number> {
  if (isEmbedded(dataSource)) {
    // One process owns the embedded engine, and it has a single session to lock with.
    return (await dataSource.runMigrations({ transaction: 'each' })).length;
  }
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await acquireLock(runner, options);
    try {
      // On the lock's own connection: a pool of one must not wait for a second connection.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      return (await executor.executePendingMigrations()).length;
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * A data source that applies `migrations` to PostgreSQL at `url` (a direct connection: see
 * runMigrationsLocked), recording them in the table the app's own data source reads. `extra` goes
 * to the pg pool.
 */
export function migrationDataSource(
  url: string,
  migrations: ReadonlyArray<new () => MigrationInterface> = MIGRATIONS,
  extra: Record<string, unknown> = {},
): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: [...migrations],
    migrationsTableName: 'migrations',
    logging: false,
    extra,
  });
}

/** The least time the migration connection gets to open (DATABASE_CONNECT_TIMEOUT_MS when longer). */
const MIGRATION_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Brings the schema up to date over a direct connection opened for this and closed after it
 * (DATABASE_DIRECT_URL, else DATABASE_URL). No statement timeout applies there: a long migration
 * is not cut off, and the wait for another process's migrations is bounded by
 * MIGRATION_LOCK_TIMEOUT_MS alone.
 */
export async function migrate(config: AppConfig, logger: Logger): Promise<number> {
  const { directUrl, connectTimeoutMs, migrationLockTimeoutMs } = config.database;
  // One connection opened once, not a request waiting for a pooled one: a short pool timeout (which
  // sheds requests quickly) must not fail a start on a busy database host.
  const migrationConnectTimeoutMs = Math.max(connectTimeoutMs, MIGRATION_CONNECT_TIMEOUT_MS);
  if (directUrl === undefined) {
    throw new Error('DATABASE_URL is not set: embedded mode migrates its own engine at start');
  }
  const dataSource = migrationDataSource(directUrl, MIGRATIONS, {
    max: 1,
    connectionTimeoutMillis: migrationConnectTimeoutMs,
    application_name: 'parley',
  });
  await dataSource.initialize();
  try {
    const applied = await runMigrationsLocked(dataSource, {
      lockTimeoutMs: migrationLockTimeoutMs,
      onWait: (waitedMs) =>
        logger.info(
          { waitedMs, timeoutMs: migrationLockTimeoutMs },
          'waiting for another process to finish its migrations',
        ),
    });
    logger.info({ applied }, applied > 0 ? `applied ${applied} migration(s)` : 'schema is current');
    return applied;
  } finally {
    await dataSource.destroy();
  }
}

/** The one line a failed migration run ends with. */
export function migrationFailureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `Migrations failed: ${message.replace(/\s+/g, ' ').trim()}`;
}
