import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreparedStatementsClient } from '../../src/database/transaction-timeouts.client.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { topologies, withAppDataSource } from '../support/topology.js';

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

/** The app's own pool, in each topology: prepared statements only where a connection is a session. */
describe.each(topologies({ defaultPoolSize: 1 }))("the app pool's statements ($name)", (topology) => {
  const fx = withAppDataSource(topology, { DATABASE_POOL_SIZE: '1' });

  it(`prepares a parameterised statement ${topology.name === 'direct' ? 'once' : 'never (PgBouncer would lose it)'}`, async () => {
    const text = 'SELECT $1::int + 1 AS n';
    for (const n of [1, 2, 3]) {
      expect(await fx.dataSource.query(text, [n])).toEqual([{ n: n + 1 }]);
    }
    // One server connection either way (pool of 1, PgBouncer pool of 1): its prepared statements.
    const rows: Array<{ statement: string }> = await fx.dataSource.query(
      'SELECT statement FROM pg_prepared_statements',
    );
    expect(rows).toEqual(topology.name === 'direct' ? [{ statement: text }] : []);
  });
});
