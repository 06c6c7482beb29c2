import { afterAll, beforeAll } from 'vitest';
import { startCluster, type AppProcess, type Cluster } from './cluster.js';
import { PrivateRedis } from './private-redis.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from './services.js';
import type { Topology } from './topology.js';

export interface ClusterFixture {
  /** Valid inside tests (set by the file's beforeAll). */
  readonly cluster: Cluster;
  /** The first process: the only one of `withCluster(1, …)`. */
  readonly app: AppProcess;
  readonly db: TestDatabase;
  /** The file's own Redis server, with `privateRedis: true`. */
  readonly redis: PrivateRedis;
}

export interface ClusterOptions {
  /** How the processes reach PostgreSQL: started first, its env given to the processes, stopped last. */
  topology?: Topology;
  /** A Redis server of the file's own (for tests that stop it) instead of the shared one. */
  privateRedis?: boolean;
}

/**
 * The set-up most cluster test files share: a database of their own, `count` app processes in
 * production mode against it and the shared Redis (a key prefix of their own), stopped and dropped
 * after the file. `env` is added to productionEnv() (after the topology's and the private Redis's
 * variables); a function gets the database first.
 */
export function withCluster(
  count: number,
  env: Record<string, string> | ((db: TestDatabase) => Record<string, string>) = {},
  options: ClusterOptions = {},
): ClusterFixture {
  let db: TestDatabase | undefined;
  let redis: PrivateRedis | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    await options.topology?.start();
    db = await createTestDatabase();
    if (options.privateRedis === true) {
      redis = await PrivateRedis.start();
    }
    const extra = typeof env === 'function' ? env(db) : env;
    cluster = await startCluster(
      count,
      productionEnv(db, uniqueName('t'), {
        ...options.topology?.env(db),
        ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
        ...extra,
      }),
    );
  });
  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
    await db?.drop();
    await options.topology?.stop();
  });
  return {
    get cluster(): Cluster {
      return present(cluster, 'cluster');
    },
    get app(): AppProcess {
      return present(cluster?.apps[0], 'app process');
    },
    get db(): TestDatabase {
      return present(db, 'database');
    },
    get redis(): PrivateRedis {
      return present(redis, 'private Redis (privateRedis: true)');
    },
  };
}

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`withCluster: the ${what} is only there inside tests`);
  }
  return value;
}
