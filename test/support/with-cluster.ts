import { afterAll, beforeAll } from 'vitest';
import { startCluster, type Cluster } from './cluster.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from './services.js';

export interface ClusterFixture {
  /** Valid inside tests (set by the file's beforeAll). */
  readonly cluster: Cluster;
  readonly db: TestDatabase;
}

/**
 * The set-up most cluster test files share: a database of their own, `count` app processes in
 * production mode against it and the shared Redis (a key prefix of their own), stopped and dropped
 * after the file. `env` is added to productionEnv(); a function gets the database first.
 */
export function withCluster(
  count: number,
  env: Record<string, string> | ((db: TestDatabase) => Record<string, string>) = {},
): ClusterFixture {
  let db: TestDatabase | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    const extra = typeof env === 'function' ? env(db) : env;
    cluster = await startCluster(count, productionEnv(db, uniqueName('t'), extra));
  });
  afterAll(async () => {
    await cluster?.stop();
    await db?.drop();
  });
  return {
    get cluster(): Cluster {
      if (cluster === undefined) {
        throw new Error('withCluster: the cluster is only there inside tests');
      }
      return cluster;
    },
    get db(): TestDatabase {
      if (db === undefined) {
        throw new Error('withCluster: the database is only there inside tests');
      }
      return db;
    },
  };
}
