import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionTimeoutsClient } from '../../src/database/transaction-timeouts.client.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { topologies } from '../support/topology.js';

const STATEMENT_MS = 300;

/**
 * The pool's client sets its timeouts per transaction: they fire directly and through PgBouncer
 * in transaction mode alike, and nothing of them stays on the session afterwards.
 */
describe.each(topologies({ defaultPoolSize: 1 }))('timeouts set per transaction ($name)', (topology) => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    await topology.start();
    db = await createTestDatabase();
    pool = new pg.Pool({
      connectionString: topology.env(db).DATABASE_URL,
      max: 2,
      Client: transactionTimeoutsClient({ statementMs: STATEMENT_MS, idleInTransactionMs: 5000 }),
    });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    await topology.stop();
  });

  it('cancels a slow statement outside a transaction, and the connection serves the next one', async () => {
    const client = await pool.connect();
    try {
      await expect(client.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
      expect(client.getTransactionStatus()).toBe('I');
      expect((await client.query('SELECT $1::int + 1 AS n', [41])).rows).toEqual([{ n: 42 }]);
      // The setting was local to its transaction: a raw query sees the server's default again.
      const rawQuery = Reflect.get(pg.Client.prototype, 'query') as (
        this: pg.PoolClient,
        text: string,
      ) => Promise<pg.QueryResult>;
      expect((await rawQuery.call(client, 'SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '0' }]);
    } finally {
      client.release();
    }
  });

  it('cancels a slow statement inside a transaction, which then rolls back cleanly', async () => {
    const client = await pool.connect();
    try {
      await client.query('START TRANSACTION');
      expect((await client.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: `${STATEMENT_MS}ms` }]);
      await expect(client.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
      await client.query('ROLLBACK');
      expect(client.getTransactionStatus()).toBe('I');
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });

  it('ends the transaction of a failing statement, and answers results and errors in order', async () => {
    const client = await pool.connect();
    try {
      await expect(client.query('SELECT 1 / $1::int', [0])).rejects.toMatchObject({ code: '22012' });
      expect(client.getTransactionStatus()).toBe('I');
      const results = await Promise.all([1, 2, 3].map((n) => client.query('SELECT $1::int AS n', [n])));
      expect(results.map((result) => result.rows[0])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    } finally {
      client.release();
    }
  });
});
