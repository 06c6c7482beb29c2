import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { eventually, http, type HttpResult } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';

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
  let db: TestDatabase;
  let redis: PrivateRedis;
  let cluster: Cluster;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    cluster = await startCluster(
      REPLICAS,
      productionEnv(db, uniqueName('t'), {
        REDIS_URL: redis.url,
        RATE_LIMIT_SENDS: String(SENDS),
        RATE_LIMIT_EXPECTED_REPLICAS: String(REPLICAS),
        MAX_PENDING_REPLIES: '10000',
      }),
    );
  });

  afterAll(async () => {
    await cluster.stop();
    await redis.stop();
    await db.drop();
  });

  /**
   * Creating a session is a session write, which costs a send: the tests' sessions are made in the
   * database so that each test's sends start from a full quota.
   */
  async function newSession(token: string): Promise<string> {
    const ownerId = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')).sub as string;
    const id = randomUUID();
    await db.query('INSERT INTO sessions (id, owner_id) VALUES ($1, $2)', [id, ownerId]);
    return id;
  }

  const send = (i: number, token: string, sessionId: string): Promise<HttpResult> =>
    http('POST', `${cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: `message ${i}` },
    });

  it('answers no 5xx when Redis stops mid-burst, and each replica then holds its share of the limit', async () => {
    const token = await tokenFor(uniqueName('burster'));
    const sessionId = await newSession(token);
    const before: HttpResult[] = [];
    for (let wave = 0; wave < 3; wave += 1) {
      before.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => send(i, token, sessionId)))));
    }
    expect(countBy(before)).toEqual({ 202: 18 });

    // Redis dies while the next sends are in flight.
    const during = Promise.all(Array.from({ length: 42 }, (_, i) => send(i, token, sessionId)));
    await redis.stop();
    const after = await during;
    expect(after.every((result) => result.status === 202 || result.status === 429)).toBe(true);
    const accepted = after.filter((result) => result.status === 202).length;
    // At most the shared limit's remainder plus one share per replica; never everything.
    expect(accepted).toBeLessThanOrEqual(SENDS - 18 + SENDS);
    expect(after.filter((result) => result.status === 429).length).toBeGreaterThanOrEqual(
      42 - (SENDS - 18 + SENDS),
    );
    for (const refused of after.filter((result) => result.status === 429)) {
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('limits a user to limit / RATE_LIMIT_EXPECTED_REPLICAS per replica while Redis is down', async () => {
    const token = await tokenFor(uniqueName('outage'));
    const sessionId = await newSession(token);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i, token, sessionId)));
    expect(countBy(results)).toEqual({ 202: SENDS, 429: SENDS });
    for (let replica = 0; replica < REPLICAS; replica += 1) {
      const own = results.filter((_, i) => i % REPLICAS === replica);
      expect(countBy(own)).toEqual({ 202: LOCAL_SHARE, 429: own.length - LOCAL_SHARE });
    }
    expect(results.every((result) => result.headers.get('x-ratelimit-limit') === String(LOCAL_SHARE))).toBe(
      true,
    );
  });

  it('goes back to the shared limit once Redis is back', async () => {
    await redis.start();
    for (const url of cluster.urls) {
      await eventually(
        async () => ((await http('GET', `${url}/health/ready`)).status === 200 ? true : undefined),
        20_000,
        `${url} ready again`,
      );
    }
    const token = await tokenFor(uniqueName('recovered'));
    const sessionId = await newSession(token);
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) => send(i, token, sessionId)));
    expect(countBy(results)).toEqual({ 202: SENDS, 429: 15 });
    expect(results.every((result) => result.headers.get('x-ratelimit-limit') === String(SENDS))).toBe(true);
  });
});
