import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';
import { clusterCounters } from './cache-metrics.js';

interface User {
  token: string;
  sessionId: string;
  title: string;
}

const USERS = 6;

describe('the cache steps aside while Redis is down and comes back by itself', () => {
  const fx = withCluster(2, {}, { privateRedis: true });

  it('serves correct data with zero 5xx through a Redis stop and restart, then caches again', async () => {
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u): Promise<User> => {
        const token = await tokenFor(uniqueName(`outage${u}`));
        const created = await http('POST', `${fx.cluster.url(u)}/v1/sessions`, {
          token,
          body: { title: 't0' },
        });
        await http('POST', `${fx.cluster.url(u)}/v1/sessions/${created.body.id}/messages`, {
          token,
          body: { content: `hello ${u}` },
        });
        return { token, sessionId: created.body.id as string, title: 't0' };
      }),
    );
    for (const user of users) {
      await eventually(async () => {
        const page = await http('GET', `${fx.cluster.url(0)}/v1/sessions/${user.sessionId}/messages`, {
          token: user.token,
        });
        return page.body.items.length === 2 && page.body.items[1].status === 'complete' ? true : undefined;
      });
    }

    const failures: string[] = [];
    let statuses5xx = 0;
    let requests = 0;
    let running = true;
    const check = (what: string, ok: boolean): void => {
      if (!ok) {
        failures.push(what);
      }
    };
    const load = async (user: User, u: number): Promise<void> => {
      for (let round = 0; running; round += 1) {
        const [a, b] = [fx.cluster.url(round + u), fx.cluster.url(round + u + 1)];
        const base = `/v1/sessions/${user.sessionId}`;
        const results = await Promise.all([
          http('GET', `${b}${base}`, { token: user.token }),
          http('GET', `${a}${base}/messages`, { token: user.token }),
          http('GET', `${b}/v1/sessions`, { token: user.token }),
        ]);
        if (round % 3 === 0) {
          const title = `t${round}`;
          const renamed = await http('PATCH', `${a}${base}`, { token: user.token, body: { title } });
          results.push(renamed);
          if (renamed.status === 200) {
            user.title = title;
          }
        }
        const [session, history, list] = await Promise.all([
          http('GET', `${b}${base}`, { token: user.token }),
          http('GET', `${a}${base}/messages`, { token: user.token }),
          http('GET', `${b}/v1/sessions`, { token: user.token }),
        ]);
        results.push(session, history, list);
        requests += results.length;
        statuses5xx += results.filter((r) => r.status >= 500).length;
        check(`session title ${session.body?.title} != ${user.title}`, session.body?.title === user.title);
        check(
          `list title ${list.body?.items?.[0]?.title} != ${user.title}`,
          list.body?.items?.[0]?.title === user.title,
        );
        check(`history of ${history.body?.items?.length} items`, history.body?.items?.length === 2);
      }
    };
    const loaders = users.map((user, u) => load(user, u));

    await sleep(1500);
    // /metrics is not read while Redis is down: its queue gauges wait for the queue's connection.
    const beforeOutage = await clusterCounters(fx.cluster.urls);
    await fx.redis.stop();
    await sleep(3000);
    await fx.redis.start();
    // Each replica moves the epoch once it is back; from then on look-ups hit again and stop bypassing.
    const resumed = await eventually(
      async () => {
        const first = await clusterCounters(fx.cluster.urls);
        await sleep(500);
        const second = await clusterCounters(fx.cluster.urls);
        return second.bypasses === first.bypasses && second.memoryHits > first.memoryHits ? second : undefined;
      },
      30_000,
      'the cache to be used again',
    );
    await sleep(1500);
    running = false;
    await Promise.all(loaders);
    const end = await clusterCounters(fx.cluster.urls);

    expect(statuses5xx).toBe(0);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(requests).toBeGreaterThan(200);
    // Reads went to the database during the outage, and to the cache again after it.
    expect(resumed.bypasses).toBeGreaterThan(beforeOutage.bypasses);
    expect(end.memoryHits + end.redisHits).toBeGreaterThan(resumed.memoryHits + resumed.redisHits);
  });
});
