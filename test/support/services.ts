import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_JWT_SECRET = 'parley-test-secret-that-is-long-enough-0123456789';

/**
 * Load shedding is tested on its own (test/throttle); elsewhere a suite that loads both cores must
 * not have its sends refused as overload.
 */
export const NO_SHEDDING = { SHED_SENDS_EVENT_LOOP_DELAY_MS: '600000', SHED_READS_EVENT_LOOP_DELAY_MS: '600000' };

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, empty database of its own for one test file; dropped afterwards. */
export async function createTestDatabase(prefix = 'parley_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: urlFor(name), max: 4 });
  // An idle client cut off by the server (the forced DROP at the end) must not crash the test file.
  pool.on('error', () => undefined);
  return {
    name,
    url: urlFor(name),
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await pool.query(sql, params)).rows as T[];
    },
    async drop(): Promise<void> {
      await pool.end();
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Environment for an app process in production mode against the shared PostgreSQL and Redis. */
export function productionEnv(
  database: TestDatabase,
  redisKeyPrefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: REDIS_URL,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    AUTH_DEV_TOKENS: 'false',
    LOG_LEVEL: 'info',
    LOCAL_LLM_DELAY_MS: '0',
    DATABASE_POOL_SIZE: '5',
    SHUTDOWN_GRACE_MS: '5000',
    // Limits are tested on their own (test/throttle); elsewhere they must not interfere.
    RATE_LIMIT_SENDS: '1000000',
    RATE_LIMIT_READS: '1000000',
    RATE_LIMIT_INVALID_TOKENS: '1000000',
    ...NO_SHEDDING,
    ...extra,
  };
}
