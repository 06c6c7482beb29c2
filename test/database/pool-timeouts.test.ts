import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource } from '../../src/database/data-source.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { topologies } from '../support/topology.js';

/**
 * The app's own pool bounds every statement and every idle transaction in both topologies: straight
 * to PostgreSQL through the connection's startup parameters, through PgBouncer per transaction.
 */
describe.each(topologies({ defaultPoolSize: 2 }))("the app pool's timeouts ($name)", (topology) => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    await topology.start();
    db = await createTestDatabase();
    dataSource = await openDataSource(
      loadConfig({ ...topology.env(db), DATABASE_POOL_SIZE: '2', DATABASE_STATEMENT_TIMEOUT_MS: '300' }),
    );
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
    await topology.stop();
  });

  it('cancels a slow statement alone or in a transaction, and the connection serves the next one', async () => {
    expect(await dataSource.query("SELECT current_setting('statement_timeout') AS s")).toEqual([{ s: '300ms' }]);
    await expect(dataSource.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ driverError: { code: '57014' } });
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query('SELECT 1');
        await manager.query('SELECT pg_sleep(2)');
      }),
    ).rejects.toMatchObject({ driverError: { code: '57014' } });
    expect(await dataSource.query('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
  });

  it('ends a transaction left idle past twice the statement timeout', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      expect(await runner.query("SELECT current_setting('idle_in_transaction_session_timeout') AS s")).toEqual([{ s: '600ms' }]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await expect(runner.query('SELECT 1')).rejects.toThrow();
    } finally {
      await runner.release().catch(() => undefined);
    }
    expect(await dataSource.query('SELECT 2 AS n')).toEqual([{ n: 2 }]);
  });
});
