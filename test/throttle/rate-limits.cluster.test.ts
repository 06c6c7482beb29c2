import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { insertSession } from '../support/api.js';
import { http, type HttpResult } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const SENDS = 30;
/** Short enough to wait out in a test, long enough for a burst to land in one window. */
const WINDOW_MS = 10_000;

function statuses(results: HttpResult[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const result of results) {
    counts[result.status] = (counts[result.status] ?? 0) + 1;
  }
  return counts;
}

function intHeader(result: HttpResult, name: string): number {
  const value = result.headers.get(name);
  expect(value, `${name} on a ${result.status}`).toMatch(/^\d+$/);
  return Number(value);
}

describe('rate limits shared by three replicas', () => {
  const fx = withCluster(3, {
    RATE_LIMIT_SENDS: String(SENDS),
    RATE_LIMIT_READS: '300',
    RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
    MAX_PENDING_REPLIES: '10000',
  });

  // Creating a session is a session write, which costs a send: the tests' sessions are made in the
  // database (insertSession) so that each test's sends start from a full quota.
  const send = (i: number, token: string, sessionId: string, body: Record<string, unknown> = {}): Promise<HttpResult> =>
    http('POST', `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: `message ${i}`, ...body },
    });

  it('accepts exactly 30 of 90 sends spread over the replicas, refuses 60 with 429 and Retry-After, and accepts again after the window', async () => {
    const token = await tokenFor(uniqueName('burster'));
    const sessionId = await insertSession(fx.db, token);
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => send(i, token, sessionId)));

    expect(statuses(results)).toEqual({ 202: 30, 429: 60 });
    const accepted = results.filter((result) => result.status === 202);
    const refused = results.filter((result) => result.status === 429);
    for (const result of refused) {
      expect(result.body).toMatchObject({ statusCode: 429, code: 'rate_limited' });
      expect(typeof result.body.requestId).toBe('string');
      expect(intHeader(result, 'retry-after')).toBeGreaterThanOrEqual(1);
      expect(intHeader(result, 'retry-after')).toBeLessThanOrEqual(WINDOW_MS / 1000);
      expect(intHeader(result, 'x-ratelimit-limit')).toBe(SENDS);
      expect(intHeader(result, 'x-ratelimit-remaining')).toBe(0);
      expect(intHeader(result, 'x-ratelimit-reset')).toBeGreaterThanOrEqual(1);
    }
    for (const result of accepted) {
      expect(intHeader(result, 'x-ratelimit-limit')).toBe(SENDS);
      expect(result.headers.get('retry-after')).toBeNull();
      expect(result.headers.get('x-ratelimit-limit-sends')).toBeNull();
    }
    // Every accepted send was counted once, in one window shared by the three processes.
    expect(accepted.map((result) => intHeader(result, 'x-ratelimit-remaining')).sort((a, b) => a - b)).toEqual(
      Array.from({ length: SENDS }, (_, i) => i),
    );

    const wait = Math.max(...refused.map((result) => intHeader(result, 'retry-after')));
    await sleep(wait * 1000 + 200);
    const again = await send(1, token, sessionId);
    expect(again.status).toBe(202);
    expect(intHeader(again, 'x-ratelimit-remaining')).toBe(SENDS - 1);

    const scraped = await Promise.all(fx.cluster.urls.map((url) => http('GET', `${url}/metrics`)));
    const throttled = scraped.reduce(
      (sum, scrape) => sum + valueOf(parseMetrics(scrape.text), 'parley_throttled_requests_total', { limit: 'sends' }),
      0,
    );
    expect(throttled).toBeGreaterThanOrEqual(60);
  });

  it('counts POST /v1/chat/send and message sends against one sends limit, on every replica', async () => {
    const token = await tokenFor(uniqueName('mixed'));
    const sessionId = await insertSession(fx.db, token);
    const messages = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i, token, sessionId)));
    expect(statuses(messages)).toEqual({ 202: 20 });
    const chats = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/chat/send`, { token, body: { message: `chat ${i}`, sessionId } }),
      ),
    );
    const counts = statuses(chats);
    expect(counts[429]).toBe(5);
    expect((counts[200] ?? 0) + (counts[202] ?? 0)).toBe(10);
    const refused = chats.find((result) => result.status === 429) as HttpResult;
    expect(refused.body.code).toBe('rate_limited');
    expect(intHeader(refused, 'retry-after')).toBeGreaterThan(0);
  });

  it('answers a retried send (same idempotency key) without costing quota, even when the limit is used up', async () => {
    const token = await tokenFor(uniqueName('retrier'));
    const sessionId = await insertSession(fx.db, token);
    const first = await send(0, token, sessionId, { clientMessageId: 'retry-me' });
    expect(first.status).toBe(202);
    const byHeader = await http('POST', `${fx.cluster.url(2)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'by header' },
      headers: { 'idempotency-key': 'retry-by-header' },
    });
    expect(byHeader.status).toBe(202);

    const retries = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? // A retry repeats its body: the same key with another body is 422 idempotency_key_reused.
            send(i, token, sessionId, { content: 'message 0', clientMessageId: 'retry-me' })
          : http('POST', `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
              token,
              body: { content: 'by header' },
              headers: { 'idempotency-key': 'retry-by-header' },
            }),
      ),
    );
    expect(statuses(retries)).toEqual({ 200: 40 });
    expect(retries.every((retry) => intHeader(retry, 'x-ratelimit-remaining') === SENDS - 2)).toBe(true);

    const fresh = await Promise.all(Array.from({ length: SENDS }, (_, i) => send(i, token, sessionId)));
    expect(statuses(fresh)).toEqual({ 202: SENDS - 2, 429: 2 });
    // Used up: a retry is still answered with the original exchange.
    const late = await send(1, token, sessionId, { content: 'message 0', clientMessageId: 'retry-me' });
    expect(late.status).toBe(200);
    expect(late.body.message.id).toBe(first.body.message.id);
  });

  it("throttles two users independently; their health checks and another user's reads still pass", async () => {
    const alice = await tokenFor(uniqueName('alice'));
    const bob = await tokenFor(uniqueName('bob'));
    const carol = await tokenFor(uniqueName('carol'));
    const [aliceSession, bobSession, carolSession] = [
      await insertSession(fx.db, alice),
      await insertSession(fx.db, bob),
      await insertSession(fx.db, carol),
    ];
    const bursts = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? send(i, alice, aliceSession) : send(i, bob, bobSession))),
    );
    expect(statuses(bursts.filter((_, i) => i % 2 === 0))).toEqual({ 202: SENDS, 429: 10 });
    expect(statuses(bursts.filter((_, i) => i % 2 === 1))).toEqual({ 202: SENDS, 429: 10 });

    for (const url of fx.cluster.urls) {
      const live = await http('GET', `${url}/health/live`, { token: alice });
      expect(live.status).toBe(200);
      expect(live.headers.get('x-ratelimit-limit')).toBeNull();
      expect((await http('GET', `${url}/v1/sessions/${carolSession}/messages`, { token: carol })).status).toBe(200);
      // The sends limit is not the reads limit: the throttled user can still read.
      const read = await http('GET', `${url}/v1/sessions/${aliceSession}`, { token: alice });
      expect(read.status).toBe(200);
      expect(intHeader(read, 'x-ratelimit-limit')).toBe(300);
    }
    expect((await send(0, carol, carolSession)).status).toBe(202);
  });

  it('a read refused by its limit leaves no cache version behind for the session it names, while one let in has it', async () => {
    // The session's version is read beside the limit (one round trip); creating a missing counter
    // waits until the request is let in, so refused requests cannot fill Redis with counters.
    const reader = await tokenFor(uniqueName('reader'));
    const redis = new Redis(fx.env.REDIS_URL as string);
    const counterKey = (sessionId: string, scope = 'session'): string =>
      `${fx.env.REDIS_KEY_PREFIX}:cache:v:${scope}:${sessionId}`;
    try {
      const own = await insertSession(fx.db, reader);
      const reads = await Promise.all(
        Array.from({ length: 320 }, (_, i) =>
          http('GET', `${fx.cluster.url(i)}/v1/sessions/${own}/messages`, { token: reader }),
        ),
      );
      expect(statuses(reads)).toEqual({ 200: 300, 429: 20 });
      expect(await redis.exists(counterKey(own))).toBe(1);
      expect(await redis.exists(counterKey(own, 'session-owner'))).toBe(1);

      const strangers = Array.from({ length: 30 }, () => randomUUID());
      const refused = await Promise.all(
        strangers.map((id, i) => http('GET', `${fx.cluster.url(i)}/v1/sessions/${id}/messages`, { token: reader })),
      );
      expect(statuses(refused)).toEqual({ 429: 30 });
      expect(await redis.exists(...strangers.map((id) => counterKey(id)))).toBe(0);
      expect(await redis.exists(...strangers.map((id) => counterKey(id, 'session-owner')))).toBe(0);
    } finally {
      await redis.quit();
    }
  });

  it('never limits health, metrics or docs', async () => {
    const paths = ['/health/live', '/health/ready', '/health/startup', '/metrics', '/docs-json'];
    const results = await Promise.all(
      Array.from({ length: 350 }, (_, i) => http('GET', `${fx.cluster.url(0)}${paths[i % paths.length] as string}`)),
    );
    // Readiness may report a dependency slow under this burst (503); it is never refused as limited.
    const notReady = results.filter((_, i) => paths[i % paths.length] !== '/health/ready');
    const byPath = Object.fromEntries(
      paths.map((path) => [path, statuses(results.filter((_, i) => paths[i % paths.length] === path))]),
    );
    expect(statuses(notReady), JSON.stringify(byPath)).toEqual({ 200: 280 });
    expect(results.filter((result) => result.status === 429)).toEqual([]);
    expect(results.every((result) => result.headers.get('x-ratelimit-limit') === null)).toBe(true);
  });

  it('documents 429 and 503 with the error schema and Retry-After on the limited routes', async () => {
    const document = (await http('GET', `${fx.cluster.url(0)}/docs-json`)).body;
    const operations = [
      document.paths['/v1/sessions/{sessionId}/messages'].post,
      document.paths['/v1/sessions/{sessionId}/messages'].get,
      document.paths['/v1/sessions'].get,
      document.paths['/v1/auth/dev-token'].post,
    ];
    for (const operation of operations) {
      for (const status of ['429', '503']) {
        const response = operation.responses[status];
        expect(response.content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorResponseDto');
        expect(response.headers['Retry-After']).toBeDefined();
      }
      expect(operation.responses['429'].headers['X-RateLimit-Remaining']).toBeDefined();
    }
    expect(document.paths['/health/live'].get.responses['429']).toBeUndefined();
  });
});
