import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { topologies } from '../support/topology.js';

/** The race without the advisory lock is timing-dependent; two rounds make it show reliably. */
const ROUNDS = 2;

describe.each(topologies())('migrations under an advisory lock ($name)', (topology) => {
  let db: TestDatabase | undefined;
  let cluster: Cluster | undefined;

  beforeAll(() => topology.start());
  afterAll(() => topology.stop());

  afterEach(async () => {
    await cluster?.stop();
    await db?.drop();
    cluster = undefined;
    db = undefined;
  });

  it.each(Array.from({ length: ROUNDS }, (_, round) => round + 1))(
    'round %i: five processes starting at once on an empty database all come up, and each migration ran once',
    async () => {
      db = await createTestDatabase();
      cluster = await startCluster(5, productionEnv(db, uniqueName('t'), topology.env(db)));
      expect(cluster.apps).toHaveLength(5);

      const applied = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
      expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
      const tables = await db.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
      );
      expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(['messages', 'migrations', 'sessions']));
      for (const app of cluster.apps) {
        expect((await fetch(`${app.url}/health/startup`)).status).toBe(200);
      }
    },
  );
});
