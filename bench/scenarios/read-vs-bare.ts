import { Redis } from 'ioredis';
import { REDIS_URL } from '../../test/support/services.js';
import { gcSummary, round, summary, type Row, type Scenario } from '../context.js';
import { cpuBudget, cpuSnapshot, measureServer } from '../cpu-budget.js';
import { startNestFloor, type Server } from '../processes.js';
import { history } from './history.js';

/**
 * Seconds of load each server gets before the first round (`BENCH_READ_WARM_UP_S`), the same for
 * every server. Parley's read takes a while to reach its steady cost: sampled every second under
 * this load, a fresh process used 215 µs of CPU per read in its first two seconds, 102–199 µs in the
 * next eighteen, and 112–138 µs after them. With 3 s of warm-up its rounds drifted (220, 183, 179 µs
 * per read in one run); with 20 s they did not (165, 163, 164).
 */
const WARM_UP_S = Number(process.env.BENCH_READ_WARM_UP_S ?? 20);

/**
 * Seconds of the same load each server gets again right before each of its measured rounds
 * (`BENCH_READ_ROUND_WARM_UP_S`), not measured. A server waits idle while the others are measured,
 * and not for the same time: Parley, warmed up first, waited about 90 s before its first round, the
 * bare route 40. Idle spells cost a Parley process: in 16 pairs of 5-s slices of these reads (four
 * processes, four spells of 60 s without requests), the first slice after a spell cost 138 µs of CPU
 * per read on average and the next one 105. V8's memory reducer, which gives memory back while a
 * process idles, is part of it, not all: the processes started as the image starts them faulted up
 * to 0.85 pages per read in during their first slices (147 µs, then 108), two beside them run with
 * `--no-memory-reducer` next to none (128 µs, then 103). Each round measures every server warm,
 * however long it waited.
 */
const ROUND_WARM_UP_S = Number(process.env.BENCH_READ_ROUND_WARM_UP_S ?? 5);

/**
 * A cached, authenticated history read against the bare Fastify route doing one Redis GET of the
 * same body, alternated round by round in one run: the throughput ratio and the p99 ratio. Two
 * floors of the framework's are measured between them (bench/bare-nest.ts): the same GET served by
 * NestJS alone (nest-floor), and the very requests of the Parley read answered by NestJS in the
 * read's shape, three guards (one of them the Redis round trip) and an interceptor, with nothing of
 * Parley's (nest-guarded): what the framework costs, and what Parley's own work adds to it.
 * Every row reports the CPU its server used per request.
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
    const reads = history.requests(context);
    const bareRequests = [{ method: 'GET' as const, path: '/bare-body' }];
    const floorRequests = [{ method: 'GET' as const, path: '/bare-nest-body' }];
    const redis = new Redis(REDIS_URL);
    // The framework's floors (bench/bare-nest.ts): the same GET served by NestJS, plain and in a read's shape.
    const floor = await startNestFloor({ REDIS_URL, REDIS_KEY_PREFIX: harness.prefix }).catch((error: unknown) => {
      redis.disconnect();
      throw error;
    });
    try {
      await redis.set(`${harness.prefix}:bare-body`, body);
      // Every reader's page in the cache, and every server warm.
      await harness.measure(context.parleyUrl, reads, { duration: WARM_UP_S });
      await harness.measure(bare.url, bareRequests, { duration: WARM_UP_S });
      await harness.measure(floor.url, floorRequests, { duration: WARM_UP_S });
      await harness.measure(floor.url, reads, { duration: WARM_UP_S });

      const rows: Row[] = [];
      const totals = { bare: 0, parley: 0, floor: 0, guarded: 0, bareP99: 0, parleyP99: 0 };
      const warm = async (url: string, requests: typeof reads): Promise<void> => {
        if (ROUND_WARM_UP_S > 0) {
          await harness.measure(url, requests, { duration: ROUND_WARM_UP_S });
        }
      };
      const measureBare = async (server: Server, requests: typeof reads) => {
        await warm(server.url, requests);
        return measureServer(harness, redis, server, requests);
      };
      for (let r = 1; r <= harness.rounds; r += 1) {
        const {
          result: bareResult,
          cpuUsPerRequest: bareCpu,
          budget: bareBudget,
        } = await measureBare(bare, bareRequests);
        const {
          result: floorResult,
          cpuUsPerRequest: floorCpu,
          budget: floorBudget,
        } = await measureBare(floor, floorRequests);
        // The Parley read's own requests (paths and tokens): the load generator pays the same for both.
        const {
          result: guardedResult,
          cpuUsPerRequest: guardedCpu,
          budget: guardedBudget,
        } = await measureBare(floor, reads);
        await warm(context.parleyUrl, reads);
        const before = await harness.cacheTally(context.parleyUrl);
        const from = await cpuSnapshot(redis, harness.parley.pid);
        const readResult = await harness.measure(context.parleyUrl, reads);
        const to = await cpuSnapshot(redis, harness.parley.pid);
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
        rows.push({
          round: r,
          target: 'bare',
          bodyBytes: body.length,
          ...summary(bareResult),
          cpuUsPerRequest: bareCpu,
          ...bareBudget,
        });
        rows.push({
          ...againstBare('nest-floor', floorResult),
          cpuUsPerRequest: floorCpu,
          kernelCpuUs: floorBudget.kernelCpuUs ?? null,
        });
        rows.push({
          ...againstBare('nest-guarded', guardedResult),
          cpuUsPerRequest: guardedCpu,
          kernelCpuUs: guardedBudget.kernelCpuUs ?? null,
        });
        rows.push({
          ...againstBare('parley-read', readResult),
          cacheHitRate: harness.hitRate(before, after),
          cpuUsPerRequest: harness.cpuPerRequest(before, after),
          ...gcSummary(before.gc, after.gc, readResult.duration),
          ...cpuBudget(from, to, readResult.requests.total),
        });
        totals.bare += bareRate;
        totals.floor += floorResult.requests.average;
        totals.guarded += guardedResult.requests.average;
        totals.parley += readResult.requests.average;
        totals.bareP99 += bareResult.latency.p99;
        totals.parleyP99 += readResult.latency.p99;
      }
      rows.push({ round: 'all', target: 'nest-floor / bare', ratio: round(totals.floor / totals.bare) });
      rows.push({ round: 'all', target: 'nest-guarded / bare', ratio: round(totals.guarded / totals.bare) });
      rows.push({ round: 'all', target: 'parley-read / nest-guarded', ratio: round(totals.parley / totals.guarded) });
      rows.push({
        round: 'all',
        target: 'parley-read / bare',
        ratio: round(totals.parley / totals.bare),
        p99Ratio: round(totals.parleyP99 / Math.max(1, totals.bareP99)),
      });
      return rows;
    } finally {
      redis.disconnect();
      await floor.stop();
    }
  },
};
