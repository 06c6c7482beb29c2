import pg from 'pg';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelinedTransaction, transaction } from '../../src/database/pipelined-transaction.js';
import { PreparedStatementsClient } from '../../src/database/transaction-timeouts.client.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource } from '../../src/database/data-source.js';
import { PgBouncer } from '../support/pgbouncer.js';
import { pgbouncerTopology, topologies, withAppDataSource } from '../support/topology.js';

/** What the connection has prepared, read with an unnamed statement (it adds nothing). */
async function prepared(client: pg.PoolClient): Promise<string[]> {
  const result = await client.query('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time');
  return result.rows.map((row: { statement: string }) => row.statement);
}

/**
 * Straight to PostgreSQL, the pool's connections prepare each parameterised statement once and
 * then only bind and execute it; behind PgBouncer (a pooled DATABASE_URL) they prepare nothing.
 */
describe('prepared statements on a direct connection', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 1, Client: PreparedStatementsClient });
    await pool.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    await pool.query("INSERT INTO items SELECT n, 'item ' || n FROM generate_series(1, 5) n");
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** The pool's one connection, for the whole of `work`. */
  async function onConnection(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    try {
      await work(client);
    } finally {
      client.release();
    }
  }

  it('prepares a statement once per connection, also when its first uses are in flight together', () =>
    onConnection(async (client) => {
      const text = 'SELECT label FROM items WHERE id = $1';
      const first = await Promise.all([1, 2, 3].map((id) => client.query(text, [id])));
      const again = await client.query(text, [4]);
      expect([...first, again].map((result) => result.rows[0])).toEqual(
        [1, 2, 3, 4].map((id) => ({ label: `item ${id}` })),
      );
      expect((await prepared(client)).filter((statement) => statement === text)).toHaveLength(1);
      // Statements without parameters (transaction control, DDL) stay unnamed.
      await client.query('START TRANSACTION');
      await client.query('COMMIT');
      expect(await prepared(client)).toEqual([text]);
    }));

  it('refuses a statement that does not parse, the same way each time, and the connection goes on', () =>
    onConnection(async (client) => {
      const broken = 'SELECT label FROM missing_table WHERE id = $1';
      const results = await Promise.allSettled([client.query(broken, [1]), client.query(broken, [2])]);
      expect(
        results.map((result) => result.status === 'rejected' && (result.reason as { code?: string }).code),
      ).toEqual(['42P01', '42P01']);
      await expect(client.query(broken, [3])).rejects.toMatchObject({ code: '42P01' });
      expect((await client.query('SELECT label FROM items WHERE id = $1', [5])).rows).toEqual([{ label: 'item 5' }]);
    }));

  it('keeps answering after a migration adds a column to a table it reads', () =>
    onConnection(async (client) => {
      const text = 'SELECT id, label FROM items WHERE id = $1';
      expect((await client.query(text, [1])).rows).toEqual([{ id: 1, label: 'item 1' }]);
      const migrator = new pg.Client({ connectionString: db.url });
      await migrator.connect();
      await migrator.query('ALTER TABLE items ADD COLUMN note text');
      await migrator.end();
      expect((await client.query(text, [2])).rows).toEqual([{ id: 2, label: 'item 2' }]);
    }));
});

/**
 * The app's own pool, in each topology: prepared statements where a connection is a session, or
 * through a PgBouncer that keeps them, and none through one that would lose them.
 */
describe.each(topologies({ defaultPoolSize: 1 }))("the app pool's statements ($name)", (topology) => {
  const fx = withAppDataSource(topology, { DATABASE_POOL_SIZE: '1' });

  it(`prepares a parameterised statement ${topology.prepares ? 'once' : 'never (PgBouncer would lose it)'}`, async () => {
    const text = 'SELECT $1::int + 1 AS n';
    for (const n of [1, 2, 3]) {
      expect(await fx.dataSource.query(text, [n])).toEqual([{ n: n + 1 }]);
    }
    // One server connection either way (pool of 1, PgBouncer pool of 1): its prepared statements.
    const rows: Array<{ statement: string }> = await fx.dataSource.query(
      'SELECT statement FROM pg_prepared_statements',
    );
    // The start-up check of a PgBouncer that keeps statements leaves its own on a server connection.
    expect(rows.filter((row) => !row.statement.includes('parley_pooler_probe'))).toEqual(
      topology.prepares ? [{ statement: text }] : [],
    );
  });

  it('runs a statement again whose first Parse was refused, in a transaction a failure aborted or for its own error', async () => {
    const behind = 'SELECT $1::int * 2 AS doubled';
    // Its first Parse comes in a transaction that the division by zero before it aborted.
    const aborted = pipelinedTransaction(fx.dataSource, async (tx) => {
      const boom = tx.query<unknown>('SELECT 1 / ($1::int - 1) AS boom', [1]);
      const after = tx.query<unknown>(behind, [21]);
      void after.catch(() => undefined);
      await boom;
      return after;
    });
    await expect(aborted).rejects.toMatchObject({ code: '22012' });
    expect(await fx.dataSource.query(behind, [21])).toEqual([{ doubled: 42 }]);
    expect(await fx.dataSource.query(behind, [4])).toEqual([{ doubled: 8 }]);
    const broken = 'SELECT label FROM missing_table WHERE id = $1';
    for (const id of [1, 2]) {
      await expect(fx.dataSource.query(broken, [id])).rejects.toMatchObject({ code: '42P01' });
    }
    expect(await fx.dataSource.query(behind, [5])).toEqual([{ doubled: 10 }]);
  });
});

/**
 * Through a PgBouncer that keeps prepared statements, many clients share few server connections,
 * and a statement is parsed on each server connection once, not at every use: PgBouncer's own
 * counts of the Parse messages it received and those it sent on.
 */
describe('the app pool through a PgBouncer that keeps prepared statements', () => {
  const CLIENTS = 8;
  const SERVERS = 2;
  const topology = pgbouncerTopology({ defaultPoolSize: SERVERS }, true);
  const fx = withAppDataSource(topology, { DATABASE_POOL_SIZE: String(CLIENTS) });

  it(`parses each statement at most once per server connection while ${CLIENTS} clients run 400 transactions over ${SERVERS}`, async () => {
    await fx.dataSource.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await fx.dataSource.query('INSERT INTO counters SELECT i, 0 FROM generate_series(1, 10) i');
    const database = fx.databaseName;
    const bouncer = topology.bouncer;
    if (bouncer === undefined) {
      throw new Error('the topology has no PgBouncer');
    }
    const before = await bouncer.stats(database);
    const bump = 'UPDATE counters SET n = n + 1 WHERE id = $1 RETURNING n';
    const read = 'SELECT sum(n)::int AS total FROM counters WHERE id <= $1';
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        transaction(fx.dataSource, async (tx) => {
          await tx.query(bump, [(i % 10) + 1]);
          await tx.query(read, [10]);
        }),
      ),
    );
    expect(await fx.dataSource.query(read, [10])).toEqual([{ total: 400 }]);
    const after = await bouncer.stats(database);
    const clientParses = (after.total_client_parse_count ?? 0) - (before.total_client_parse_count ?? 0);
    const serverParses = (after.total_server_parse_count ?? 0) - (before.total_server_parse_count ?? 0);
    const binds = (after.total_bind_count ?? 0) - (before.total_bind_count ?? 0);
    // Each client connection parsed each statement once; PostgreSQL saw each once per server.
    expect(binds).toBeGreaterThanOrEqual(801);
    expect(clientParses).toBeLessThanOrEqual(2 * CLIENTS);
    expect(serverParses).toBeGreaterThan(0);
    expect(serverParses).toBeLessThanOrEqual(2 * SERVERS);
  });
});

/**
 * DATABASE_POOLER_PREPARED_STATEMENTS on a PgBouncer that would lose the statements: the pool does
 * not open, naming the variable, rather than failing requests whenever a transaction meets a
 * server connection that never saw its statement.
 */
describe.each([
  { name: "the machine's PgBouncer 1.18", options: {} },
  { name: 'a newer PgBouncer with max_prepared_statements = 0', options: { newer: true, maxPreparedStatements: 0 } },
])('DATABASE_POOLER_PREPARED_STATEMENTS=true on $name', ({ options }) => {
  let bouncer: PgBouncer | undefined;
  let db: TestDatabase | undefined;

  beforeAll(async () => {
    bouncer = await PgBouncer.start(options);
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
    await bouncer?.stop();
  });

  it('refuses to open the pool, naming the variable', async () => {
    if (bouncer === undefined || db === undefined) {
      throw new Error('set-up failed');
    }
    const config = loadConfig({
      DATABASE_URL: bouncer.urlFor(db.url),
      DATABASE_DIRECT_URL: db.url,
      DATABASE_POOLER_PREPARED_STATEMENTS: 'true',
    });
    await expect(openDataSource(config)).rejects.toThrow(
      /^Invalid configuration: DATABASE_POOLER_PREPARED_STATEMENTS is true, but DATABASE_URL does not keep prepared statements/,
    );
  });
});

const POOL = 3;

/**
 * A migration changes the type of a column that prepared statements return while the processes run
 * (a rolling deploy): PostgreSQL then refuses the statement on every connection that prepared it
 * ("cached plan must not change result type"). The process prepares it afresh under a new name: a
 * statement alone runs again at once, a transaction runs again whole, and no caller sees the refusal.
 */
describe.each(topologies({ defaultPoolSize: POOL }))(
  "the app pool's statements when a migration changes a column type they return ($name)",
  (topology) => {
    const fx = withAppDataSource(topology, { DATABASE_POOL_SIZE: String(POOL) });
    const text = 'SELECT id, label FROM labels WHERE id = $1';
    const row = (id: number): { id: number; label: string } => ({ id, label: `label ${id}` });

    beforeAll(async () => {
      await fx.dataSource.query('CREATE TABLE labels (id int PRIMARY KEY, label varchar(20) NOT NULL)');
      await fx.dataSource.query("INSERT INTO labels SELECT n, 'label ' || n FROM generate_series(1, 9) n");
    });

    /** Runs `work` on each of the pool's connections, all held at once (so each is a different one). */
    async function onEveryConnection<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T[]> {
      const runners = Array.from({ length: POOL }, () => fx.dataSource.createQueryRunner());
      try {
        await Promise.all(runners.map((runner) => runner.connect()));
        return await Promise.all(runners.map(work));
      } finally {
        await Promise.all(runners.map((runner) => runner.release()));
      }
    }

    /** A column type change, as a migration makes it (a statement without parameters: never prepared). */
    async function migrate(sql: string): Promise<void> {
      await fx.dataSource.query(sql);
    }

    /** Every connection of the pool prepares `text`. */
    async function prime(): Promise<void> {
      expect(await onEveryConnection((runner) => runner.query(text, [1]))).toEqual(Array(POOL).fill([row(1)]));
    }

    it('runs a transaction again whole, and a statement alone again at once, under a new name', async () => {
      await prime();
      await migrate('ALTER TABLE labels ALTER COLUMN label TYPE varchar(40)');
      // Transactions first, as many at once as the pool has connections, and then as many again:
      // the first ones each meet a connection that prepared the statement before the change.
      const answers = await Promise.all([
        ...Array.from({ length: POOL }, (_, i) =>
          pipelinedTransaction(fx.dataSource, (tx, commitWith) => commitWith(() => tx.query(text, [i + 1]))),
        ),
        ...Array.from({ length: POOL }, (_, i) => transaction(fx.dataSource, (tx) => tx.query(text, [i + 4]))),
      ]);
      expect(answers).toEqual(Array.from({ length: 2 * POOL }, (_, i) => [row(i + 1)]));

      await prime();
      await migrate('ALTER TABLE labels ALTER COLUMN label TYPE varchar(60)');
      // Alone, on every connection at once, two each (pipelined): all of them prepared it before.
      const alone = await onEveryConnection((runner) =>
        Promise.all([runner.query(text, [7]), runner.query(text, [8])]),
      );
      expect(alone).toEqual(Array(POOL).fill([[row(7)], [row(8)]]));
      expect(await fx.dataSource.query(text, [9])).toEqual([row(9)]);

      // Straight to PostgreSQL each connection prepared the text again (marked, see preparedText)
      // and dropped the refused statements; through a PgBouncer that keeps none nothing was
      // prepared, and nothing was refused either; one that keeps them holds the refused ones on
      // its server connections beside the new one, until it evicts them.
      const names = await onEveryConnection(async (runner) => {
        const rows: Array<{ name: string }> = await runner.query(
          'SELECT name FROM pg_prepared_statements WHERE starts_with(statement, $1)',
          [text],
        );
        return rows.length;
      });
      if (topology.name === 'pgbouncer-prepared') {
        expect(Math.min(...names)).toBeGreaterThanOrEqual(1);
      } else {
        expect(names).toEqual(Array(POOL).fill(topology.name === 'direct' ? 1 : 0));
      }
    });

    it('runs a pipelined transaction again when its work met a statement aborted behind the refused one first', async () => {
      await prime();
      await migrate('ALTER TABLE labels ALTER COLUMN label TYPE varchar(80)');
      const answer = await pipelinedTransaction(fx.dataSource, async (tx) => {
        const refused = tx.query<unknown>(text, [2]);
        const behind = tx.query<unknown>('SELECT $1::int AS n', [3]);
        // Straight to PostgreSQL, the first run meets `behind`'s failure first (the refusal aborted it).
        void refused.catch(() => undefined);
        const n = await behind;
        return [await refused, n];
      });
      expect(answer).toEqual([[row(2)], [{ n: 3 }]]);
    });
  },
);
