import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf, type Sample } from '../support/prometheus.js';
import { openSse } from '../support/sse.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const METRICS_TOKEN = 'scrape-me';

describe('metrics and admin stats', () => {
  const fx = withCluster(1, { METRICS_TOKEN, MAX_PENDING_REPLIES: '100', RATE_LIMIT_READS: '100000' });

  const scrape = async (): Promise<Sample[]> => {
    const response = await http('GET', `${fx.app.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    return parseMetrics(response.text);
  };

  it('exports the counters that alerts read from zero, before any event, and counts open event streams', async () => {
    const fresh = await scrape();
    for (const type of ['session_forbidden', 'memory_forbidden', 'invalid_token', 'admin_forbidden']) {
      expect(
        fresh.some((s) => s.name === 'parley_security_events_total' && s.labels.type === type && s.value === 0),
        type,
      ).toBe(true);
    }
    for (const outcome of ['complete', 'failed', 'fenced']) {
      expect(
        fresh.some((s) => s.name === 'parley_replies_total' && s.labels.outcome === outcome && s.value === 0),
        outcome,
      ).toBe(true);
    }
    for (const tier of ['memory', 'redis']) {
      expect(
        fresh.some(
          (s) =>
            s.name === 'parley_cache_requests_total' &&
            s.labels.tier === tier &&
            s.labels.result === 'miss' &&
            s.value === 0,
        ),
        tier,
      ).toBe(true);
    }
    expect(
      fresh.some(
        (s) => s.name === 'parley_llm_errors_total' && s.labels.provider === 'local' && s.labels.kind === 'server',
      ),
    ).toBe(true);
    const fiveXx = { method: 'POST', route: '/v1/sessions/:sessionId/messages', status_class: '5xx' };
    expect(
      fresh.some(
        (s) => s.name === 'http_requests_total' && Object.entries(fiveXx).every(([k, v]) => s.labels[k] === v),
      ),
    ).toBe(true);
    expect(valueOf(fresh, 'parley_sse_streams_open')).toBe(0);
    for (const outcome of ['opened', 'unavailable']) {
      expect(
        fresh.some((s) => s.name === 'parley_sse_stream_opens_total' && s.labels.outcome === outcome && s.value === 0),
        outcome,
      ).toBe(true);
    }

    const token = await tokenFor(uniqueName('listener'));
    const session = (await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const streams = await Promise.all([0, 1].map(() => openSse(`${fx.app.url}/v1/sessions/${session}/events`, token)));
    expect(valueOf(await scrape(), 'parley_sse_streams_open')).toBe(2);
    // Counted once each stream follows its session (the 200 goes out before the subscription).
    await eventually(async () =>
      valueOf(await scrape(), 'parley_sse_stream_opens_total', { outcome: 'opened' }) === 2 ? true : undefined,
    );
    expect(valueOf(await scrape(), 'parley_sse_stream_opens_total', { outcome: 'unavailable' })).toBe(0);
    streams[0]?.close();
    await eventually(async () => (valueOf(await scrape(), 'parley_sse_streams_open') === 1 ? true : undefined));
    streams[1]?.close();
    await eventually(async () => (valueOf(await scrape(), 'parley_sse_streams_open') === 0 ? true : undefined));
  });

  it('requires METRICS_TOKEN when it is set', async () => {
    expect((await http('GET', `${fx.app.url}/metrics`)).status).toBe(401);
    expect((await http('GET', `${fx.app.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
  });

  it('counts scripted traffic exactly, by route template and status class', async () => {
    const before = await scrape();
    const token = await tokenFor(uniqueName('counted'));
    const intruder = await tokenFor(uniqueName('intruder'));
    const sessions: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      sessions.push((await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} })).body.id as string);
    }
    for (let i = 0; i < 6; i += 1) {
      await http('GET', `${fx.app.url}/v1/sessions/${sessions[i % 4] as string}`, { token });
    }
    for (let i = 0; i < 3; i += 1) {
      await http('GET', `${fx.app.url}/v1/sessions/${sessions[0] as string}`, { token: intruder });
    }
    const sends = await Promise.all(
      [0, 1].map((i) =>
        http('POST', `${fx.app.url}/v1/sessions/${sessions[i] as string}/messages`, {
          token,
          body: { content: 'count me' },
        }),
      ),
    );
    await Promise.all(
      sends.map((sent) =>
        eventually(async () => {
          const reply = await http(
            'GET',
            `${fx.app.url}/v1/sessions/${sent.body.reply.sessionId as string}/messages/${sent.body.reply.id as string}`,
            { token },
          );
          return reply.body.status === 'complete' ? true : undefined;
        }),
      ),
    );
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>): number =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    expect(delta('http_requests_total', { method: 'POST', route: '/v1/sessions', status_class: '2xx' })).toBe(4);
    expect(delta('http_requests_total', { method: 'GET', route: '/v1/sessions/:sessionId', status_class: '2xx' })).toBe(
      6,
    );
    expect(delta('http_requests_total', { method: 'GET', route: '/v1/sessions/:sessionId', status_class: '4xx' })).toBe(
      3,
    );
    expect(
      delta('http_request_duration_seconds_count', { method: 'POST', route: '/v1/sessions', status_class: '2xx' }),
    ).toBe(4);
    expect(delta('parley_security_events_total', { type: 'session_forbidden' })).toBe(3);
    expect(delta('parley_replies_total', { outcome: 'complete' })).toBe(2);
    expect(delta('parley_reply_latency_seconds_count', {})).toBe(2);
    expect(delta('parley_llm_tokens_total', { provider: 'local' })).toBeGreaterThan(0);
    expect(valueOf(after, 'parley_queue_jobs', { state: 'failed' })).toBe(0);
    expect(valueOf(after, 'parley_redis_up')).toBe(1);
    expect(valueOf(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('keeps label sets bounded under 1,000 distinct ids and unknown paths', async () => {
    const token = await tokenFor(uniqueName('prober'));
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 === 0
            ? http('GET', `${fx.app.url}/v1/sessions/${randomUUID()}/messages`, { token })
            : http('GET', `${fx.app.url}/no-such-route/${randomUUID()}`, { token }),
        ),
      );
    }
    const samples = (await scrape()).filter((s) => s.name === 'http_requests_total');
    const routes = new Set(samples.map((s) => s.labels.route));
    expect(routes.size).toBeLessThan(20);
    expect([...routes].some((route) => /[0-9a-f]{8}-/.test(route ?? ''))).toBe(false);
    expect(valueOf(samples, 'http_requests_total', { route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(
      500,
    );
  });

  it('serves /v1/admin/stats to admins only, in the contract’s shape', async () => {
    const user = await tokenFor(uniqueName('user'));
    const forbidden = await http('GET', `${fx.app.url}/v1/admin/stats`, { token: user });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('admin_required');
    const stats = await http('GET', `${fx.app.url}/v1/admin/stats`, {
      token: await tokenFor('root', { roles: ['admin'] }),
    });
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      cache: {
        size: expect.any(Number),
        maxSize: 10_000,
        hits: expect.any(Number),
        misses: expect.any(Number),
        hitRate: expect.any(Number),
      },
      performance: {
        requestsPerSecond: expect.any(Number),
        avgResponseTime: expect.any(Number),
        p95ResponseTime: expect.any(Number),
        p99ResponseTime: expect.any(Number),
        totalRequests: expect.any(Number),
      },
      redis: { available: true },
      queue: {
        waiting: expect.any(Number),
        active: expect.any(Number),
        delayed: expect.any(Number),
        failed: expect.any(Number),
      },
    });
    expect(stats.body.performance.totalRequests).toBeGreaterThan(1000);
    expect(stats.body.performance.p99ResponseTime).toBeGreaterThanOrEqual(stats.body.performance.p95ResponseTime);
  });

  it('exports every metric that the alert rules and the dashboard use', async () => {
    const text = (await http('GET', `${fx.app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }))
      .text;
    // Declared metrics, observed or not (a labelled counter has no sample before its first increment).
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
    const root = join(import.meta.dirname, '../..');
    const rules = parse(readFileSync(join(root, 'k8s/prometheus-rules.yaml'), 'utf8'));
    const dashboard = JSON.parse(readFileSync(join(root, 'k8s/grafana-dashboard.json'), 'utf8'));
    const expressions: string[] = [
      ...rules.spec.groups.flatMap((group: any) => group.rules.map((rule: any) => rule.expr as string)),
      ...dashboard.panels.flatMap((panel: any) => panel.targets.map((target: any) => target.expr as string)),
    ];
    const referenced = new Set(
      expressions.flatMap((expr) =>
        [...expr.matchAll(/\b((?:http|parley|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
          (m[1] as string).replace(/_(bucket|sum|count)$/, ''),
        ),
      ),
    );
    expect(referenced.size).toBeGreaterThan(10);
    for (const name of referenced) {
      expect(exported.has(name), name).toBe(true);
    }
    const alerts = rules.spec.groups.flatMap((group: any) => group.rules.map((rule: any) => rule.alert as string));
    expect(alerts).toHaveLength(14);
  });
});

describe('active users across replicas', () => {
  const replicas = withCluster(3);

  it('reports the same distinct-user count on every one of 3 processes', async () => {
    const { cluster } = replicas;
    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => tokenFor(uniqueName(`active${i}`))));
    await Promise.all(users.map((token, i) => http('GET', `${cluster.url(i)}/v1/sessions`, { token })));
    await Promise.all(
      users.slice(0, 10).map((token, i) => http('GET', `${cluster.url(i + 1)}/v1/sessions`, { token })),
    );
    for (const url of cluster.urls) {
      await eventually(
        async () => {
          const samples = parseMetrics((await http('GET', `${url}/metrics`)).text);
          return valueOf(samples, 'parley_active_users') === 30 ? true : undefined;
        },
        10_000,
        `active users on ${url}`,
      );
    }
  });
});
