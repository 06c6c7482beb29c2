import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';

const status = async (url: string): Promise<{ status: number; body: any }> => {
  const result = await http('GET', url);
  return { status: result.status, body: result.body };
};

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(sql);
  await client.end();
}

describe('probes when dependencies fail', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let app: AppProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    app = await startApp({ env: productionEnv(db, uniqueName('t'), { REDIS_URL: redis.url }) });
  });

  afterAll(async () => {
    await stopAll([app]);
    await redis.stop();
    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await db.drop();
  });

  it('keeps live at 200 while the database is unreachable, ready 503 naming database, and recovers', async () => {
    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND application_name = 'parley'`,
    );
    const down = await eventually(async () => {
      const ready = await status(`${app.url}/health/ready`);
      return ready.status === 503 ? ready : undefined;
    }, 20_000, 'ready to fail');
    expect(down.body.error.database.status).toBe('down');
    expect((await status(`${app.url}/health/live`)).status).toBe(200);

    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    await eventually(async () => ((await status(`${app.url}/health/ready`)).status === 200 ? true : undefined), 20_000, 'ready again');
  });

  it('answers ready 503 naming redis while Redis is down, and 200 after it restarts', async () => {
    await redis.stop();
    const down = await eventually(async () => {
      const ready = await status(`${app.url}/health/ready`);
      return ready.status === 503 && ready.body.error.redis ? ready : undefined;
    }, 20_000, 'ready to name redis');
    expect(down.body.error.redis.status).toBe('down');
    expect((await status(`${app.url}/health/live`)).status).toBe(200);
    // Prometheus still gets its answer while Redis is away: the "Redis down" alert depends on it.
    const scrape = await http('GET', `${app.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(valueOf(parseMetrics(scrape.text), 'parley_redis_up')).toBe(0);

    await redis.start();
    await eventually(async () => ((await status(`${app.url}/health/ready`)).status === 200 ? true : undefined), 30_000, 'ready again');
    const token = await tokenFor(uniqueName('after-restart'));
    expect((await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).status).toBe(201);
  });
});

describe('probes on SIGTERM', () => {
  it('turns ready 503 at once while an in-flight request still completes', async () => {
    const db = await createTestDatabase();
    const app = await startApp({ env: productionEnv(db, uniqueName('t'), { SHUTDOWN_DRAIN_DELAY_MS: '1500' }) });
    const blocker = new pg.Client({ connectionString: db.url });
    try {
      const token = await tokenFor(uniqueName('user'));
      const session = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
      // Hold the session row, so the send below is in flight (waiting on the lock) when SIGTERM arrives.
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [session]);
      const inFlight = http('POST', `${app.url}/v1/sessions/${session}/messages`, { token, body: { content: 'in flight' } });
      await eventually(async () => {
        const waiting = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
          [db.name],
        );
        return (waiting[0]?.n ?? 0) > 0 ? true : undefined;
      }, 10_000, 'the send to wait on the row lock');

      app.child.kill('SIGTERM');
      // The signal is delivered asynchronously: wait until the process has seen it, then readiness must already be down.
      await eventually(async () => (app.output().includes('shutting down') ? true : undefined), 5_000, 'SIGTERM to be seen');
      const ready = await status(`${app.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.error.lifecycle.status).toBe('down');

      await blocker.query('COMMIT');
      expect((await inFlight).status).toBe(202);
      expect(await app.exited).toBe(0);
    } finally {
      await blocker.end().catch(() => undefined);
      await stopAll([app]);
      await db.drop();
    }
  });
});
