import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const USERS = 5;
const ROUNDS = 4;

/** Waits until the replica's readiness reports Redis in `status`. */
async function redisReported(app: AppProcess, status: string, timeoutMs: number, what: string): Promise<void> {
  await eventually(
    async () => {
      const ready = await http('GET', `${app.url}/health/ready`);
      return ready.status === 200 && ready.body.details?.redis?.status === status ? true : undefined;
    },
    timeoutMs,
    what,
  );
}

/**
 * One replica loses Redis while the others keep it: its writes cannot bump the versions in Redis,
 * yet a read on a connected replica right after such a write's answer must include it.
 */
describe('a replica cut off from Redis alone', () => {
  let proxy: TcpProxy;

  // Registered before withCluster: the proxy is there before the processes start and after they stop.
  beforeAll(async () => {
    proxy = await TcpProxy.start(REDIS_URL);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  // The connected replica; the cut one reaches the same Redis (same key prefix) through the proxy.
  const fx = withCluster(1);
  let cut: AppProcess;
  beforeAll(async () => {
    cut = await fx.start({ env: { REDIS_URL: proxy.url(REDIS_URL) } });
  });

  it('cannot make the other replicas serve a cached page older than its writes', async () => {
    const connected = fx.app;
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u) => ({ token: await tokenFor(uniqueName(`part${u}`)), u })),
    );
    const contents = async (app: AppProcess, token: string): Promise<string[]> => {
      const page = await http('GET', `${app.url}/v1/memories?limit=100`, { token });
      expect(page.status).toBe(200);
      return page.body.items.map((m: any) => m.content as string).sort();
    };
    const remember = async (app: AppProcess, token: string, content: string): Promise<void> => {
      const created = await http('POST', `${app.url}/v1/memories`, { token, body: { content } });
      expect(created.status, created.text).toBe(201);
    };

    for (const { token, u } of users) {
      await remember(connected, token, `u${u} r0`);
      expect(await contents(connected, token)).toEqual([`u${u} r0`]);
      expect(await contents(connected, token)).toEqual([`u${u} r0`]);
    }

    await proxy.cut();
    await redisReported(cut, 'degraded', 20_000, 'the cut replica to notice');

    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(
        users.map(async ({ token, u }) => {
          await remember(cut, token, `u${u} r${round}`);
          const expected = Array.from({ length: round + 1 }, (_, r) => `u${u} r${r}`).sort();
          expect(await contents(connected, token), `round ${round}`).toEqual(expected);
          expect(await contents(cut, token), `round ${round}`).toEqual(expected);
        }),
      );
    }

    // The bumps went through PostgreSQL: the cut replica sent them, the connected one made them.
    const metric = async (app: AppProcess, outcome: string): Promise<number> => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(new RegExp(`parley_cache_bump_relays_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    expect(await metric(cut, 'confirmed')).toBe(USERS * ROUNDS);
    expect(await metric(connected, 'applied')).toBe(USERS * ROUNDS);

    await proxy.restore();
    await redisReported(cut, 'up', 30_000, 'the cut replica to rejoin');
    for (const { token, u } of users) {
      await remember(cut, token, `u${u} back`);
      const expected = [...Array.from({ length: ROUNDS + 1 }, (_, r) => `u${u} r${r}`), `u${u} back`].sort();
      expect(await contents(connected, token)).toEqual(expected);
      expect(await contents(cut, token)).toEqual(expected);
    }
  });
});
