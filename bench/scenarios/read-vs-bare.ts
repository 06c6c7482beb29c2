import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/ports.js';
import { REDIS_URL } from '../../test/support/services.js';
import { round, summary, type Row, type Scenario } from '../context.js';
import { startServer } from '../processes.js';
import { history } from './history.js';

/** The same GET served by NestJS with nothing else (bench/bare-nest.ts): the framework's floor. */
async function startNestFloor(prefix: string): ReturnType<typeof startServer> {
  const port = await freePort();
  return startServer(
    ['--import', 'tsx', join(import.meta.dirname, '../bare-nest.ts')],
    { REDIS_URL, REDIS_KEY_PREFIX: prefix },
    port,
    '/ready',
  );
}

/**
 * A cached, authenticated history read against the bare Fastify route doing one Redis GET of the
 * same body, alternated round by round in one run: the throughput ratio and the p99 ratio. The
 * same GET served by NestJS alone (nest-floor) is measured between them: what the framework costs
 * before Parley adds anything.
 */
export const readVsBare: Scenario = {
  name: 'read-vs-bare',
  description: 'Cached history read (20 messages) vs a bare Fastify route GETting the same body from Redis, alternated',
  target: 'parley',
  requests: (context) => history.requests(context),
  async run(harness) {
    const { context, bare } = harness;
    const [reader] = context.users;
    if (reader === undefined) {
      throw new Error('no seeded users');
    }
    const body = await (
      await fetch(`${context.parleyUrl}/v1/sessions/${reader.sessionId}/messages`, {
        headers: { authorization: `Bearer ${reader.token}` },
      })
    ).text();
    const redis = new Redis(REDIS_URL);
    await redis.set(`${harness.prefix}:bare-body`, body);
    await redis.quit();
    const reads = history.requests(context);
    const bareRequests = [{ method: 'GET' as const, path: '/bare-body' }];
    const floorRequests = [{ method: 'GET' as const, path: '/bare-nest-body' }];
    const floor = await startNestFloor(harness.prefix);
    try {
      // Every reader's page in the cache, and every server warm.
      await harness.measure(context.parleyUrl, reads, { duration: 3 });
      await harness.measure(bare.url, bareRequests, { duration: 2 });
      await harness.measure(floor.url, floorRequests, { duration: 2 });

      const rows: Row[] = [];
      const totals = { bare: 0, parley: 0, floor: 0, bareP99: 0, parleyP99: 0 };
      for (let r = 1; r <= harness.rounds; r += 1) {
        const bareResult = await harness.measure(bare.url, bareRequests);
        const floorResult = await harness.measure(floor.url, floorRequests);
        const before = await harness.cacheTally(context.parleyUrl);
        const readResult = await harness.measure(context.parleyUrl, reads);
        const after = await harness.cacheTally(context.parleyUrl);
        const bareRate = bareResult.requests.average;
        const againstBare = (target: string, result: typeof bareResult): Row => ({
          round: r,
          target,
          bodyBytes: body.length,
          ...summary(result),
          ratio: round(result.requests.average / bareRate),
          p99Ratio: round(result.latency.p99 / Math.max(1, bareResult.latency.p99)),
        });
        rows.push({ round: r, target: 'bare', bodyBytes: body.length, ...summary(bareResult) });
        rows.push(againstBare('nest-floor', floorResult));
        rows.push({
          ...againstBare('parley-read', readResult),
          cacheHitRate: harness.hitRate(before, after),
          cpuUsPerRequest: harness.cpuPerRequest(before, after),
        });
        totals.bare += bareRate;
        totals.floor += floorResult.requests.average;
        totals.parley += readResult.requests.average;
        totals.bareP99 += bareResult.latency.p99;
        totals.parleyP99 += readResult.latency.p99;
      }
      rows.push({ round: 'all', target: 'nest-floor / bare', ratio: round(totals.floor / totals.bare) });
      rows.push({
        round: 'all',
        target: 'parley-read / bare',
        ratio: round(totals.parley / totals.bare),
        p99Ratio: round(totals.parleyP99 / Math.max(1, totals.bareP99)),
      });
      return rows;
    } finally {
      await floor.stop();
    }
  },
};
