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
 * The requests sent in the first second of a measurement: autocannon opens all its connections and
 * sends a request on each at once, so they are the burst of new connections a process takes in
 * after a deploy or a load balancer's reconnect, and they are reported apart.
 */
const FIRST_S = 1;

/** Latencies split by when their request was sent: in the first `seconds` of the run, or later. */
class SentSplit {
  private readonly start = Date.now();
  private readonly parts: [number[], number[]] = [[], []];

  constructor(private readonly seconds: number) {}

  add(latencyMs: number): void {
    const sentAt = Date.now() - latencyMs - this.start;
    this.parts[sentAt < this.seconds * 1000 ? 0 : 1].push(latencyMs);
  }

  /** The 99th percentile of one part (0: first seconds, 1: later), in whole milliseconds. */
  p99(part: 0 | 1): number | null {
    const sorted = [...this.parts[part]].sort((a, b) => a - b);
    const value = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
    return value === undefined ? null : Math.round(value);
  }
}

/**
 * The scenario of the seed's published headline: every seeded user has a session of 6 messages;
 * 90 % history reads and 10 % sends (each answered by the local responder through the whole reply
 * pipeline) at a fixed offered rate over 1,000 connections, on a Parley process of its own, whose
 * resident memory is sampled during the run. Beside the run's percentiles it reports the p99 of the
 * requests sent in its first second and of those sent after.
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
      const latencies = new SentSplit(FIRST_S);
      const result = await harness.measure(
        parley.url,
        requests,
        { connections: SEED_CONNECTIONS, overallRate: rate },
        (latencyMs) => latencies.add(latencyMs),
      );
      const maxRssMb = rss.stop();
      const after = await harness.cacheTally(parley.url);
      rows.push({
        offeredRate: rate,
        connections: SEED_CONNECTIONS,
        ...summary(result),
        p99FirstSecondMs: latencies.p99(0),
        p99LaterMs: latencies.p99(1),
        cacheHitRate: harness.hitRate(before, after),
        cpuUsPerRequest: harness.cpuPerRequest(before, after),
        maxRssMb,
      });
    }
    return rows;
  },
};
