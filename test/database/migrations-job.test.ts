import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { runMigrate } from '../support/scripts.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { pgbouncerTopology } from '../support/topology.js';

/** The advisory lock key of the migrations (src/database/migration-runner.ts). */
const MIGRATION_LOCK_KEY = '7163820145221';

const appliedNames = async (db: TestDatabase): Promise<string[]> =>
  (await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id')).map((row) => row.name);

/** The recommended topology: the pool through PgBouncer, migrations on DATABASE_DIRECT_URL. */
describe('migrations as their own step, and pods waiting for them (through PgBouncer)', () => {
  const topology = pgbouncerTopology();
  let db: TestDatabase;
  let apps: AppProcess[] = [];
  let holder: pg.Client | undefined;

  beforeAll(() => topology.start());
  afterAll(() => topology.stop());

  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    holder = undefined;
    await stopAll(apps);
    apps = [];
    await db.drop();
  });

  /** Another process's migrations, as PostgreSQL sees them: the session lock, held. */
  async function holdMigrationLock(): Promise<pg.Client> {
    holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return holder;
  }

  it('a process behind another one’s long migration waits past the statement timeout, saying so, then comes up', async () => {
    db = await createTestDatabase();
    const lock = await holdMigrationLock();
    let watched: { output(): string; exited: Promise<number | null> } | undefined;
    const starting = startApp({
      env: productionEnv(db, uniqueName('t'), { ...topology.env(db), DATABASE_STATEMENT_TIMEOUT_MS: '500' }),
      onSpawn: (process) => (watched = process),
    });
    await eventually(
      async () =>
        watched?.output().includes('waiting for another process to finish its migrations') ? true : undefined,
      30_000,
      'the process to say it waits',
    );
    // Four statement timeouts later it still waits, alive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(watched?.output()).not.toContain('Migrations failed');
    let exited = false;
    void watched?.exited.then(() => (exited = true));
    expect(exited).toBe(false);

    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    const app = await starting;
    apps.push(app);
    expect(await appliedNames(db)).toEqual(MIGRATIONS.map((migration) => migration.name));
    expect((await http('GET', `${app.url}/health/startup`)).status).toBe(200);
  });

  it('gives up after MIGRATION_LOCK_TIMEOUT_MS with one line and a non-zero exit, at start and in npm run migrate', async () => {
    db = await createTestDatabase();
    await holdMigrationLock();
    const env = productionEnv(db, uniqueName('t'), { ...topology.env(db), MIGRATION_LOCK_TIMEOUT_MS: '1500' });

    const migrate = await runMigrate(env);
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Migrations failed: .*migration lock.*MIGRATION_LOCK_TIMEOUT_MS/),
    ]);

    let watched: { output(): string; exited: Promise<number | null> } | undefined;
    await expect(startApp({ env, onSpawn: (process) => (watched = process) })).rejects.toThrow(/did not start/);
    expect(await watched?.exited).not.toBe(0);
    const failures = (watched?.output() ?? '').split('\n').filter((line) => line.startsWith('Migrations failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/MIGRATION_LOCK_TIMEOUT_MS/);
  });

  it('MIGRATE_ON_START=false on an empty database: alive and unready, then npm run migrate, then ready without a restart', async () => {
    db = await createTestDatabase();
    const env = productionEnv(db, uniqueName('t'), { ...topology.env(db), MIGRATE_ON_START: 'false' });
    const app = await startApp({ env, readyPath: '/health/live' });
    apps.push(app);

    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const [live, ready, startup] = await Promise.all(
        ['/health/live', '/health/ready', '/health/startup'].map((path) => http('GET', `${app.url}${path}`)),
      );
      expect(live?.status).toBe(200);
      expect(ready?.status).toBe(503);
      expect(ready?.body.error.migrations).toMatchObject({ status: 'down' });
      expect(startup?.status).toBe(503);
      expect(startup?.body.error.migrations.pending).toEqual(MIGRATIONS.map((migration) => migration.name));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The waiting pod only reads: the migrations table is the migrator's to create.
    expect(await db.query("SELECT to_regclass('migrations') AS t")).toEqual([{ t: null }]);
    const waits = app
      .output()
      .split('\n')
      .filter((line) => line.includes('waiting for the schema to be migrated'));
    expect(waits).toHaveLength(1);

    const migrate = await runMigrate(env);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(await appliedNames(db)).toEqual(MIGRATIONS.map((migration) => migration.name));

    await eventually(
      async () => ((await http('GET', `${app.url}/health/ready`)).status === 200 ? true : undefined),
      15_000,
      'ready',
    );
    expect((await http('GET', `${app.url}/health/startup`)).status).toBe(200);
    expect(app.child.exitCode).toBeNull();
    const token = await tokenFor(uniqueName('user'));
    expect((await http('POST', `${app.url}/v1/sessions`, { token, body: { title: 'after migrate' } })).status).toBe(
      201,
    );

    // Run again: nothing to do, exit 0.
    const again = await runMigrate(env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('schema is current');
  });

  it('a release behind the schema keeps serving: migrations applied by a newer release do not make it unready', async () => {
    db = await createTestDatabase();
    const env = productionEnv(db, uniqueName('t'), { ...topology.env(db) });
    expect((await runMigrate(env)).code).toBe(0);
    // What a newer release's additive migration leaves behind.
    await db.query('ALTER TABLE sessions ADD COLUMN pinned boolean NOT NULL DEFAULT false');
    await db.query(
      "INSERT INTO migrations (timestamp, name) VALUES (1999999999999, 'AddPinnedToSessions1999999999999')",
    );

    const app = await startApp({ env });
    apps.push(app);
    const waiting = await startApp({ env: { ...env, MIGRATE_ON_START: 'false' } });
    apps.push(waiting);
    const token = await tokenFor(uniqueName('user'));
    for (const process of apps) {
      expect((await http('GET', `${process.url}/health/ready`)).status).toBe(200);
      const created = await http('POST', `${process.url}/v1/sessions`, { token, body: { title: 'older release' } });
      expect(created.status).toBe(201);
      expect(
        (
          await http('POST', `${process.url}/v1/sessions/${created.body.id}/messages`, {
            token,
            body: { content: 'hi' },
          })
        ).status,
      ).toBe(202);
    }
  });
});
