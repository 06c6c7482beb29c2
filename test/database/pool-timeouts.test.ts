import { describe, expect, it } from 'vitest';
import { topologies, withAppDataSource } from '../support/topology.js';

/**
 * The app's own pool bounds every statement and every idle transaction in both topologies: straight
 * to PostgreSQL through the connection's startup parameters, through PgBouncer per transaction.
 */
describe.each(topologies({ defaultPoolSize: 2 }))("the app pool's timeouts ($name)", (topology) => {
  const fx = withAppDataSource(topology, { DATABASE_POOL_SIZE: '2', DATABASE_STATEMENT_TIMEOUT_MS: '300' });

  it('cancels a slow statement alone or in a transaction, and the connection serves the next one', async () => {
    expect(await fx.dataSource.query("SELECT current_setting('statement_timeout') AS s")).toEqual([{ s: '300ms' }]);
    await expect(fx.dataSource.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ driverError: { code: '57014' } });
    await expect(
      fx.dataSource.transaction(async (manager) => {
        await manager.query('SELECT 1');
        await manager.query('SELECT pg_sleep(2)');
      }),
    ).rejects.toMatchObject({ driverError: { code: '57014' } });
    expect(await fx.dataSource.query('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
  });

  it('ends a transaction left idle past twice the statement timeout', async () => {
    const runner = fx.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      expect(await runner.query("SELECT current_setting('idle_in_transaction_session_timeout') AS s")).toEqual([
        { s: '600ms' },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await expect(runner.query('SELECT 1')).rejects.toThrow();
    } finally {
      await runner.release().catch(() => undefined);
    }
    expect(await fx.dataSource.query('SELECT 2 AS n')).toEqual([{ n: 2 }]);
  });
});
