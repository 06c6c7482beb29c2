import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { lockWaiter, SessionRowHold } from '../support/row-lock.js';
import { POSTGRES_ADMIN_URL, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

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
  const fx = withCluster(1, { RECONCILE_INTERVAL_MS: '1000' }, { privateRedis: true });

  // Runs before withCluster's stop and drop: a failed test may have left the database closed.
  afterAll(async () => {
    await admin(`ALTER DATABASE ${fx.db.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
  });

  it('keeps live at 200 while the database is unreachable, ready 503 naming database, and recovers', async () => {
    const { app, db } = fx;
    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND application_name = 'parley'`,
    );
    const down = await eventually(
      async () => {
        const ready = await status(`${app.url}/health/ready`);
        return ready.status === 503 ? ready : undefined;
      },
      20_000,
      'ready to fail',
    );
    expect(down.body.error.database.status).toBe('down');
    expect((await status(`${app.url}/health/live`)).status).toBe(200);

    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    await eventually(
      async () => ((await status(`${app.url}/health/ready`)).status === 200 ? true : undefined),
      20_000,
      'ready again',
    );
  });

  it('keeps ready at 200 naming Redis degraded while it is down: reads 200, sends 202, and the reply completes once Redis is back', async () => {
    const { app, redis } = fx;
    const token = await tokenFor(uniqueName('redis-outage'));
    const sessionId = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    await redis.stop();
    const degraded = await eventually(
      async () => {
        const ready = await status(`${app.url}/health/ready`);
        expect(ready.status).toBe(200);
        return ready.body.details.redis?.status === 'degraded' ? ready : undefined;
      },
      20_000,
      'ready to name redis degraded',
    );
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.info.redis).toMatchObject({ status: 'degraded', reachable: false });
    expect(degraded.body.details.database.status).toBe('up');
    expect(degraded.body.details.migrations.status).toBe('up');
    expect((await status(`${app.url}/health/live`)).status).toBe(200);
    // Prometheus still gets its answer while Redis is away: the "Redis down" alert depends on it.
    const scrape = await http('GET', `${app.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(valueOf(parseMetrics(scrape.text), 'parley_redis_up')).toBe(0);

    expect((await http('GET', `${app.url}/v1/sessions/${sessionId}/messages`, { token })).status).toBe(200);
    const sent = await http('POST', `${app.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'while redis is down' },
    });
    expect(sent.status).toBe(202);
    expect((await status(`${app.url}/health/ready`)).status).toBe(200);

    await redis.start();
    await eventually(
      async () => {
        const ready = await status(`${app.url}/health/ready`);
        return ready.status === 200 && ready.body.details.redis?.status === 'up' ? true : undefined;
      },
      30_000,
      'redis up again in readiness',
    );
    const replyId = sent.body.reply.id as string;
    const reply = await eventually(
      async () => {
        const read = await http('GET', `${app.url}/v1/sessions/${sessionId}/messages/${replyId}`, { token });
        return read.body.status === 'complete' ? read.body : undefined;
      },
      60_000,
      'the reply to complete after Redis is back',
    );
    expect(reply.content).toContain('while redis is down');
    expect((await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).status).toBe(201);
  });
});

describe('probes on SIGTERM', () => {
  const fx = withCluster(1, { SHUTDOWN_DRAIN_DELAY_MS: '1500' });

  it('turns ready 503 at once while an in-flight request still completes', async () => {
    const { app, db } = fx;
    const token = await tokenFor(uniqueName('user'));
    const session = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    // Hold the session row, so the send below is in flight (waiting on the lock) when SIGTERM arrives.
    const blocker = await SessionRowHold.take(db, session);
    try {
      const inFlight = http('POST', `${app.url}/v1/sessions/${session}/messages`, {
        token,
        body: { content: 'in flight' },
      });
      await lockWaiter(db, 'the send to wait on the row lock');

      app.child.kill('SIGTERM');
      // The signal is delivered asynchronously: wait until the process has seen it, then readiness must already be down.
      await eventually(
        async () => (app.output().includes('shutting down') ? true : undefined),
        5_000,
        'SIGTERM to be seen',
      );
      const ready = await status(`${app.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.error.lifecycle.status).toBe('down');

      await blocker.release();
      expect((await inFlight).status).toBe(202);
      expect(await app.exited).toBe(0);
    } finally {
      await blocker.close();
    }
  });
});
