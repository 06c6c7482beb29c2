import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pipelinedTransaction } from '../../src/database/pipelined-transaction.js';
import { topologies, withAppDataSource } from '../support/topology.js';

const POOL_SIZE = 4;
const STATEMENT_TIMEOUT_MS = 4321;

/**
 * A pipelined transaction (the send's): its opening goes out with its first statements and its
 * COMMIT with its last, yet every statement runs inside it, straight to PostgreSQL and through
 * PgBouncer, whose client sets the transaction's timeouts after its opening.
 */
describe.each(topologies({ defaultPoolSize: POOL_SIZE }))('pipelined transactions ($name)', (topology) => {
  const fx = withAppDataSource(topology, {
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  });

  beforeAll(async () => {
    await fx.dataSource.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await fx.dataSource.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
  });

  beforeEach(async () => {
    await fx.dataSource.query('TRUNCATE counters, notes');
    await fx.dataSource.query('INSERT INTO counters VALUES (1, 0)');
  });

  it('runs the statements issued with its opening and the one committed with its end in one transaction', async () => {
    const seen = await pipelinedTransaction(fx.dataSource, async (tx, commitWith) => {
      const [first, timeout] = await Promise.all([
        tx.query('SELECT txid_current()::text AS id'),
        tx.query("SELECT current_setting('statement_timeout') AS value"),
      ]);
      const last = await commitWith(() =>
        tx.query("INSERT INTO notes VALUES (1, 'kept') RETURNING txid_current()::text AS id"),
      );
      return { first: first[0].id as string, last: last[0].id as string, timeout: timeout[0].value as string };
    });
    expect(seen.last).toBe(seen.first);
    expect(seen.timeout).toBe(`${STATEMENT_TIMEOUT_MS}ms`);
    expect(await fx.dataSource.query('SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
  });

  it('serialises concurrent read-modify-writes under the row lock it takes first: no update is lost', async () => {
    const increments = 40;
    await Promise.all(
      Array.from({ length: increments }, () =>
        pipelinedTransaction(fx.dataSource, async (tx, commitWith) => {
          const [row] = await tx.query('SELECT n FROM counters WHERE id = $1 FOR UPDATE', [1]);
          // Outside a transaction the lock would be gone by now, and others would read the same n.
          await sleep(2);
          await commitWith(() => tx.query('UPDATE counters SET n = $2 WHERE id = $1', [1, (row.n as number) + 1]));
        }),
      ),
    );
    expect(await fx.dataSource.query('SELECT n FROM counters WHERE id = 1')).toEqual([{ n: increments }]);
  });

  it('rolls back everything when the statement committed with its end fails, and says why', async () => {
    await fx.dataSource.query("INSERT INTO notes VALUES (2, 'taken')");
    const attempt = pipelinedTransaction(fx.dataSource, async (tx, commitWith) => {
      await tx.query("INSERT INTO notes VALUES (1, 'written first')");
      await tx.query('UPDATE counters SET n = 99 WHERE id = 1');
      return commitWith(() => tx.query("INSERT INTO notes VALUES (2, 'duplicate')"));
    });
    await expect(attempt).rejects.toMatchObject({ driverError: { code: '23505' } });
    expect(await fx.dataSource.query('SELECT id FROM notes ORDER BY id')).toEqual([{ id: 2 }]);
    expect(await fx.dataSource.query('SELECT n FROM counters')).toEqual([{ n: 0 }]);
  });

  it('rolls back work that throws, and commits work that returns without commitWith', async () => {
    await expect(
      pipelinedTransaction(fx.dataSource, async (tx) => {
        await tx.query("INSERT INTO notes VALUES (1, 'rolled back')");
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await pipelinedTransaction(fx.dataSource, async (tx) => {
      await tx.query("INSERT INTO notes VALUES (3, 'committed after')");
    });
    expect(await fx.dataSource.query('SELECT id FROM notes')).toEqual([{ id: 3 }]);
  });

  it('commits after a last statement that was not issued at once, never before it', async () => {
    const ids = await pipelinedTransaction(fx.dataSource, async (tx, commitWith) => {
      const [first] = await tx.query('SELECT txid_current()::text AS id');
      const [last] = await commitWith(async () => {
        await sleep(5);
        return tx.query("INSERT INTO notes VALUES (4, 'late') RETURNING txid_current()::text AS id");
      });
      return [first.id as string, last.id as string];
    });
    expect(ids[1]).toBe(ids[0]);
    expect(await fx.dataSource.query('SELECT body FROM notes')).toEqual([{ body: 'late' }]);
  });

  it('leaves no transaction open on the pooled connections', async () => {
    await Promise.all(
      Array.from({ length: POOL_SIZE * 3 }, (_, i) =>
        pipelinedTransaction(fx.dataSource, async (tx, commitWith) => {
          await tx.query('SELECT n FROM counters WHERE id = 1 FOR UPDATE');
          if (i % 3 === 0) {
            throw new Error('refused');
          }
          if (i % 3 === 1) {
            return;
          }
          await commitWith(() => tx.query('UPDATE counters SET n = n + 1 WHERE id = 1'));
        }).catch(() => undefined),
      ),
    );
    const open: unknown[] = await fx.dataSource.query(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    );
    expect(open).toEqual([]);
    expect(await fx.dataSource.query('SELECT n FROM counters')).toEqual([{ n: POOL_SIZE }]);
  });
});
