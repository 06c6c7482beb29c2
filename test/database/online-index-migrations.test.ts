import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, runMigrationsLocked } from '../../src/database/migration-runner.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { CompletedRepliesIndex1767900000000 } from '../../src/database/migrations/1767900000000-CompletedRepliesIndex.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

/** The table each online migration builds its indexes on. */
function tableOf(migration: MigrationInterface): 'sessions' | 'messages' {
  return migration.name?.startsWith('ListSessions') === true ? 'sessions' : 'messages';
}

const ONLINE = MIGRATIONS.map((Migration): MigrationInterface => new Migration()).filter(
  (migration) => migration.transaction === false,
);

describe('migrations that build indexes on tables holding data', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const sessionId = randomUUID();
  let seq = 0;

  /** A write to `table` on `client`: a new message in the session, or a session of its own. */
  const write = async (client: pg.Client, table: 'sessions' | 'messages'): Promise<void> => {
    if (table === 'sessions') {
      await client.query('INSERT INTO sessions (id, owner_id) VALUES ($1, $2)', [randomUUID(), 'alice']);
      return;
    }
    seq += 1;
    await client.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to)
       VALUES ($1, $2, 'alice', $3, 'user', 'hello', 'complete', NULL)`,
      [randomUUID(), sessionId, seq],
    );
  };

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    return client;
  };

  const invalidIndexes = async (): Promise<string[]> =>
    (
      await db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`,
      )
    ).map((row) => row.name);

  const indexesOf = async (table: string): Promise<string[]> =>
    (await db.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1', [table]))
      .map((row) => row.indexname)
      .sort();

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = migrationDataSource(db.url);
    await dataSource.initialize();
    // As a start or the migration Job applies them: each in its own transaction, or none.
    await runMigrationsLocked(dataSource);
    await db.query('INSERT INTO sessions (id, owner_id) VALUES ($1, $2)', [sessionId, 'alice']);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('are the five index migrations, applied with every index valid', async () => {
    expect(ONLINE.map((migration) => migration.name)).toEqual([
      'ListSessionsByActivity1767484800000',
      'SearchMessages1767700000000',
      'CompletedRepliesIndex1767900000000',
      'OpenRepliesBySession1768000000000',
      'OpenReplyIndexesByRole1768100000000',
    ]);
    expect(await invalidIndexes()).toEqual([]);
    const applied = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map((Migration) => new Migration().name));
  });

  for (const migration of ONLINE) {
    it(`${migration.name}: writes to its table go on while it waits for an open write and builds`, async () => {
      const table = tableOf(migration);
      const indexes = await indexesOf(table);
      const runner = dataSource.createQueryRunner();
      const blocker = await connect();
      const writer = await connect();
      try {
        await migration.down(runner);
        // A write in progress when the migration starts: an index build waits for it to finish,
        // whether it holds writes (CREATE INDEX) or not (CONCURRENTLY).
        await blocker.query('BEGIN');
        await write(blocker, table);
        const pid = ((await runner.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number }>)[0]?.pid;
        const up = migration.up(runner);
        up.catch(() => undefined);
        for (let waited = 0; ; waited += 20) {
          const rows = await db.query<{ waiting: boolean }>(
            `SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`,
            [pid],
          );
          if (rows[0]?.waiting === true) {
            break;
          }
          expect(waited, 'the migration never waited for the open write').toBeLessThan(20_000);
          await sleep(20);
        }
        // A plain CREATE INDEX queues a lock that every new write of the table waits behind until
        // the build is done: this one would hit its lock timeout.
        await writer.query(`SET lock_timeout = '3s'`);
        await write(writer, table);
        await blocker.query('COMMIT');
        await up;
      } finally {
        await blocker.end();
        await writer.end();
        await runner.release();
      }
      expect(await indexesOf(table)).toEqual(indexes);
      expect(await invalidIndexes()).toEqual([]);
    });
  }

  it('builds an index afresh where a failed build left an invalid one of its name', async () => {
    const migration = new CompletedRepliesIndex1767900000000();
    const runner = dataSource.createQueryRunner();
    const client = await connect();
    try {
      await write(client, 'messages');
      await write(client, 'messages');
      await migration.down(runner);
      // What a build that failed half-way leaves behind: an invalid index under the name (the
      // session's messages share their owner, so this one fails).
      await expect(
        runner.query('CREATE UNIQUE INDEX CONCURRENTLY messages_completed_replies ON messages (owner_id)'),
      ).rejects.toThrow(/could not create unique index/);
      expect(await invalidIndexes()).toEqual(['messages_completed_replies']);
      await migration.up(runner);
    } finally {
      await client.end();
      await runner.release();
    }
    expect(await invalidIndexes()).toEqual([]);
    const definition = await db.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname = 'messages_completed_replies'`,
    );
    expect(definition[0]?.indexdef).toMatch(/\(updated_at\) WHERE/);
  });
});
