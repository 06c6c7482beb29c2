import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { eventually, http, type HttpResult } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { pgbouncerTopology, topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';

interface PoolGauges {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

const poolGauges = async (url: string): Promise<PoolGauges> => {
  const samples = parseMetrics((await http('GET', `${url}/metrics`)).text);
  return {
    total: valueOf(samples, 'parley_db_pool_connections', { state: 'total' }),
    idle: valueOf(samples, 'parley_db_pool_connections', { state: 'idle' }),
    waiting: valueOf(samples, 'parley_db_pool_connections', { state: 'waiting' }),
    max: valueOf(samples, 'parley_db_pool_max'),
  };
};

describe('through PgBouncer, PostgreSQL sees the PgBouncer pool, not the processes’ pools', () => {
  const POOL = 6;
  const topology = pgbouncerTopology({ defaultPoolSize: POOL });
  // 3 processes x 5 pooled connections = 15 clients of PgBouncer, for 6 server connections.
  const fx = withCluster(
    3,
    {
      DATABASE_POOL_SIZE: '5',
      MAX_PENDING_REPLIES: '10000',
      // Every request must be served here, however loaded the machine: none may be shed for a slow pool.
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
    },
    { topology },
  );

  it('SHOW POOLS never reports more server connections than the pool while 3 processes serve 240 concurrent requests', async () => {
    const bouncer = topology.bouncer;
    if (bouncer === undefined) {
      throw new Error('no pgbouncer');
    }
    const users = await Promise.all(
      Array.from({ length: 24 }, async (_, u) => {
        const token = await tokenFor(uniqueName(`budget${u}`));
        const created = await http('POST', `${fx.cluster.url(u)}/v1/sessions`, { token, body: { title: `u${u}` } });
        expect(created.status).toBe(201);
        return { token, sessionId: created.body.id as string };
      }),
    );

    const samples: Array<{ servers: number; clients: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const row of await bouncer.pools(fx.db.name)) {
          samples.push({
            servers: row.sv_active + row.sv_idle + row.sv_used + row.sv_tested + row.sv_login,
            clients: row.cl_active + row.cl_waiting,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const requests: Array<Promise<HttpResult>> = [];
    for (let round = 0; round < 10; round += 1) {
      for (const [u, user] of users.entries()) {
        const url = fx.cluster.url(u + round);
        requests.push(
          round % 2 === 0
            ? http('POST', `${url}/v1/sessions/${user.sessionId}/messages`, {
                token: user.token,
                body: { content: `r${round}` },
              })
            : http('GET', `${url}/v1/sessions/${user.sessionId}/messages`, { token: user.token }),
        );
      }
    }
    const results = await Promise.all(requests);
    sampling = false;
    await sampler;

    expect(results).toHaveLength(240);
    expect(results.filter((result) => result.status >= 300).map((result) => result.text)).toEqual([]);
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.max(...samples.map((sample) => sample.servers))).toBeLessThanOrEqual(POOL);
    // More clients than server connections at once: PgBouncer multiplexed them.
    expect(Math.max(...samples.map((sample) => sample.clients))).toBeGreaterThan(POOL);

    const backends = await fx.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parley' AND state IS NOT NULL",
      [fx.db.name],
    );
    // PgBouncer's servers plus each process's one direct LISTEN connection.
    expect(backends[0]?.n).toBeLessThanOrEqual(POOL + 3);

    for (const url of fx.cluster.urls) {
      const gauges = await poolGauges(url);
      expect(gauges.max).toBe(5);
      expect(gauges.total).toBeGreaterThan(0);
      expect(gauges.total).toBeLessThanOrEqual(5);
      expect(gauges.idle).toBeLessThanOrEqual(gauges.total);
      // Replies are still being generated in the background: requests may wait, never a negative count.
      expect(gauges.waiting).toBeGreaterThanOrEqual(0);
      const text = (await http('GET', `${url}/metrics`)).text;
      for (const state of ['total', 'idle', 'waiting']) {
        expect(text).toContain(`parley_db_pool_connections{state="${state}"}`);
      }
    }
  });
});

/**
 * A process whose pool is exhausted sheds what it cannot serve in time: 503 `overloaded` with
 * Retry-After once DATABASE_CONNECT_TIMEOUT_MS passed, never a hang, never a 500; readiness stays.
 */
describe.each(topologies())('a pool of 2 under 50 concurrent slow requests ($name)', (topology) => {
  const CONNECT_TIMEOUT_MS = 1000;
  const HOLD_MS = 2500;
  const fx = withCluster(
    1,
    {
      DATABASE_POOL_SIZE: '2',
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: '10000',
    },
    { topology },
  );

  it('answers each with 2xx or 503 overloaded + Retry-After within the connect timeout, none hangs, none is 500', async () => {
    const users = await Promise.all(
      Array.from({ length: 50 }, async (_, u) => ({ token: await tokenFor(uniqueName(`slow${u}`)), u })),
    );
    // Slow requests: every read of the sessions table waits behind this lock while it is held.
    const blocker = new pg.Client({ connectionString: fx.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const answers = Promise.all(
        users.map(async ({ token }) => {
          const sent = Date.now();
          const result = await http('GET', `${fx.cluster.url(0)}/v1/sessions`, { token });
          return { result, ms: Date.now() - sent };
        }),
      );
      const saturated = await eventually(
        async () => {
          const gauges = await poolGauges(fx.cluster.url(0));
          return gauges.waiting > 0 ? gauges : undefined;
        },
        10_000,
        'requests to wait for a connection',
      );
      expect(saturated.total).toBeLessThanOrEqual(2);
      expect(saturated.max).toBe(2);
      const ready = await http('GET', `${fx.cluster.url(0)}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body.details.database).toMatchObject({ status: 'up', pool: 'saturated' });

      await new Promise((resolve) => setTimeout(resolve, Math.max(0, HOLD_MS - (Date.now() - started))));
      await blocker.query('COMMIT');
      const all = await answers;

      expect(all.map(({ result }) => result.status).filter((status) => status !== 200 && status !== 503)).toEqual([]);
      const shed = all.filter(({ result }) => result.status === 503);
      const served = all.filter(({ result }) => result.status === 200);
      expect(shed.length).toBeGreaterThan(0);
      expect(served.length).toBeGreaterThan(0);
      for (const { result, ms } of shed) {
        expect(result.body).toMatchObject({ statusCode: 503, code: 'overloaded' });
        expect(Number(result.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // One wait for a connection, bounded by the connect timeout (plus scheduling on a loaded machine).
        expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + 1500);
      }
      for (const { ms } of served) {
        expect(ms).toBeLessThan(HOLD_MS + CONNECT_TIMEOUT_MS + 1500);
      }
    } finally {
      await blocker.end().catch(() => undefined);
    }
    // The pool is whole again afterwards.
    const { token } = users[0] as { token: string };
    expect((await http('GET', `${fx.cluster.url(0)}/v1/sessions`, { token })).status).toBe(200);
  });
});
