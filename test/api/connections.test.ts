import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const POOL_SIZE = 4;

describe('F5: connections per process are fixed and bounded', () => {
  const fx = withCluster(1, {
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    MAX_PENDING_REPLIES: '1000',
    RATE_LIMIT_SENDS: '100000',
    RATE_LIMIT_READS: '100000',
  });
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });

  afterAll(() => {
    redis.disconnect();
  });

  async function redisConnectionsOf(pid: number): Promise<string[]> {
    const list = (await redis.call('CLIENT', 'LIST')) as string;
    return list
      .split('\n')
      .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name.endsWith(`:${pid}`));
  }

  async function postgresConnections(): Promise<number> {
    const rows = await fx.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parley'",
      [fx.db.name],
    );
    return rows[0]?.n ?? 0;
  }

  it('opens no connection per request, and closes them all on SIGTERM', async () => {
    const pid = fx.app.child.pid as number;
    const before = await redisConnectionsOf(pid);
    expect(before.length).toBeGreaterThan(0);

    const users = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const token = await tokenFor(uniqueName(`u${i}`));
        const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
        return { token, sessionId: session.body.id as string };
      }),
    );
    const requests = users.flatMap(({ token, sessionId }) => [
      ...Array.from({ length: 5 }, (_, m) =>
        http('POST', `${fx.app.url}/v1/sessions/${sessionId}/messages`, { token, body: { content: `m${m}` } }),
      ),
      ...Array.from({ length: 10 }, () => http('GET', `${fx.app.url}/v1/sessions/${sessionId}/messages`, { token })),
    ]);
    const results = await Promise.all(requests);
    expect(results.every((r) => r.status < 300)).toBe(true);

    const after = await redisConnectionsOf(pid);
    expect(after.sort()).toEqual(before.sort());
    // The pool, plus the one connection that listens for relayed cache bumps.
    expect(await postgresConnections()).toBeLessThanOrEqual(POOL_SIZE + 1);

    fx.app.child.kill('SIGTERM');
    expect(await fx.app.exited).toBe(0);
    expect(await redisConnectionsOf(pid)).toEqual([]);
    expect(await postgresConnections()).toBe(0);
  });
});
