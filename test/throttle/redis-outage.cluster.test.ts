import { describe, expect, it } from 'vitest';
import { insertSession } from '../support/api.js';
import { eventually, http, type HttpResult } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const SENDS = 30;
const REPLICAS = 3;
const LOCAL_SHARE = SENDS / REPLICAS;

function countBy(results: HttpResult[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const result of results) {
    counts[result.status] = (counts[result.status] ?? 0) + 1;
  }
  return counts;
}

describe('rate limits while Redis is away', () => {
  const fx = withCluster(
    REPLICAS,
    { RATE_LIMIT_SENDS: String(SENDS), RATE_LIMIT_EXPECTED_REPLICAS: String(REPLICAS), MAX_PENDING_REPLIES: '10000' },
    { privateRedis: true },
  );

  // Creating a session is a session write, which costs a send: the tests' sessions are made in the
  // database (insertSession) so that each test's sends start from a full quota.
  const send = (i: number, token: string, sessionId: string): Promise<HttpResult> =>
    http('POST', `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: `message ${i}` },
    });

  it('answers no 5xx when Redis stops mid-burst, and each replica then holds its share of the limit', async () => {
    const token = await tokenFor(uniqueName('burster'));
    const sessionId = await insertSession(fx.db, token);
    const before: HttpResult[] = [];
    for (let wave = 0; wave < 3; wave += 1) {
      before.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => send(i, token, sessionId)))));
    }
    expect(countBy(before)).toEqual({ 202: 18 });

    // Redis dies while the next sends are in flight.
    const during = Promise.all(Array.from({ length: 42 }, (_, i) => send(i, token, sessionId)));
    await fx.redis.stop();
    const after = await during;
    expect(after.every((result) => result.status === 202 || result.status === 429)).toBe(true);
    const accepted = after.filter((result) => result.status === 202).length;
    // At most the shared limit's remainder plus one share per replica; never everything.
    expect(accepted).toBeLessThanOrEqual(SENDS - 18 + SENDS);
    expect(after.filter((result) => result.status === 429).length).toBeGreaterThanOrEqual(42 - (SENDS - 18 + SENDS));
    for (const refused of after.filter((result) => result.status === 429)) {
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('limits a user to limit / RATE_LIMIT_EXPECTED_REPLICAS per replica while Redis is down', async () => {
    const token = await tokenFor(uniqueName('outage'));
    const sessionId = await insertSession(fx.db, token);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i, token, sessionId)));
    expect(countBy(results)).toEqual({ 202: SENDS, 429: SENDS });
    for (let replica = 0; replica < REPLICAS; replica += 1) {
      const own = results.filter((_, i) => i % REPLICAS === replica);
      expect(countBy(own)).toEqual({ 202: LOCAL_SHARE, 429: own.length - LOCAL_SHARE });
    }
    expect(results.every((result) => result.headers.get('x-ratelimit-limit') === String(LOCAL_SHARE))).toBe(true);
  });

  it('goes back to the shared limit once Redis is back', async () => {
    await fx.redis.start();
    for (const url of fx.cluster.urls) {
      await eventually(
        async () => ((await http('GET', `${url}/health/ready`)).status === 200 ? true : undefined),
        20_000,
        `${url} ready again`,
      );
    }
    const token = await tokenFor(uniqueName('recovered'));
    const sessionId = await insertSession(fx.db, token);
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) => send(i, token, sessionId)));
    expect(countBy(results)).toEqual({ 202: SENDS, 429: 15 });
    expect(results.every((result) => result.headers.get('x-ratelimit-limit') === String(SENDS))).toBe(true);
  });
});
