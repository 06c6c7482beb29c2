import { sampleRss } from '../rss.js';
import { summary, type Row, type Scenario } from '../context.js';
import { readMix } from './read-mix.js';

/** Offered loads in requests/s, comma-separated (`BENCH_RATE=1000,500`). */
const RATES = (process.env.BENCH_RATE ?? '1000')
  .split(',')
  .map(Number)
  .filter((rate) => rate > 0);
const SEED_CONNECTIONS = Number(process.env.BENCH_SEED_CONNECTIONS ?? 1000);
const WARM_UP_S = Number(process.env.BENCH_WARM_UP_S ?? 3);

/**
 * The scenario of the seed's published headline: every seeded user has a session of 6 messages;
 * 90 % history reads and 10 % sends (each answered by the local responder through the whole reply
 * pipeline) at a fixed offered rate over 1,000 connections, on a Parley process of its own, whose
 * resident memory is sampled during the run.
 */
export const seed: Scenario = {
  name: 'seed',
  description:
    "The seed's scenario: 1,000 users with 6-message sessions, 90 % reads / 10 % sends, open loop at BENCH_RATE",
  target: 'parley',
  requests: readMix,
  async run(harness) {
    const parley = await harness.startParley();
    const context = { ...harness.context, parleyUrl: parley.url, users: harness.seeded.conversers };
    const requests = readMix(context);
    const rows: Row[] = [];
    for (const rate of RATES) {
      await harness.drained(parley.url);
      await harness.measure(parley.url, requests, {
        connections: SEED_CONNECTIONS,
        overallRate: rate,
        duration: WARM_UP_S,
      });
      await harness.drained(parley.url);
      const before = await harness.cacheTally(parley.url);
      const rss = sampleRss(parley.pid);
      const result = await harness.measure(parley.url, requests, { connections: SEED_CONNECTIONS, overallRate: rate });
      const maxRssMb = rss.stop();
      const after = await harness.cacheTally(parley.url);
      rows.push({
        offeredRate: rate,
        connections: SEED_CONNECTIONS,
        ...summary(result),
        cacheHitRate: harness.hitRate(before, after),
        cpuUsPerRequest: harness.cpuPerRequest(before, after),
        maxRssMb,
      });
    }
    return rows;
  },
};
