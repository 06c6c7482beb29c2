import { gcSummary, type Row, type Scenario } from '../context.js';
import { cpuSecondsOf } from '../cpu-budget.js';
import type { Server } from '../processes.js';
import { history } from './history.js';

/** Pairs of fresh processes (`BENCH_GC_PAIRS`, default 2). */
const PAIRS = Number(process.env.BENCH_GC_PAIRS ?? 2);
const WARM_UP_S = 20;
/**
 * The Node flags of the process beside the image's (`BENCH_GC_OTHER_ARGS`, separated by spaces):
 * by default none, i.e. the image's process against one without its flags; set, the image's
 * against those flags (for example its own plus a larger old space).
 */
const OTHER_ARGS = (process.env.BENCH_GC_OTHER_ARGS ?? '').split(' ').filter((arg) => arg !== '');
const OTHER_NAME = OTHER_ARGS.length === 0 ? 'no-flags' : 'other-flags';
const MEASUREMENTS = 2;

/**
 * Fresh Parley processes in pairs, one started as the image starts it (docker/Dockerfile's CMD:
 * its Node flags) and one without those flags (or with BENCH_GC_OTHER_ARGS), each under the same
 * cached history reads (warm-up, then two measurements, the order reversed in the second): per measurement, requests/s, p99 and
 * the CPU a read cost the process, and per process its garbage collections from its own metrics
 * (the mean pause of a young-generation collection, how many of them and how many full ones). A
 * process's collections, unlike its requests/s, hardly depend on what else the machine runs, so a
 * process that collects differently shows in one run.
 */
export const gcModes: Scenario = {
  name: 'gc-modes',
  description: 'Fresh processes with the image’s Node flags and without (or BENCH_GC_OTHER_ARGS): cached reads and GC',
  target: 'parley',
  requests: (context) => history.requests(context),
  async run(harness) {
    const reads = history.requests(harness.context);
    // Stopped by the run after the scenario, as every process of startParley.
    const servers: Array<{ name: string; server: Server }> = [];
    for (let pair = 0; pair < PAIRS; pair += 1) {
      // Started alternately first, so that neither kind is always the older process.
      for (const asImage of pair % 2 === 0 ? [true, false] : [false, true]) {
        const name = `${asImage ? 'image-flags' : OTHER_NAME}-${pair}`;
        servers.push({ name, server: await harness.startParley({}, asImage ? undefined : OTHER_ARGS) });
      }
    }
    for (const { server } of servers) {
      await harness.measure(server.url, reads, { duration: WARM_UP_S });
    }
    const rows: Row[] = [];
    for (let r = 1; r <= MEASUREMENTS; r += 1) {
      for (const { name, server } of r % 2 === 0 ? [...servers].reverse() : servers) {
        const before = { cpuSeconds: cpuSecondsOf(server.pid), requests: 0 };
        const result = await harness.measure(server.url, reads);
        const after = { cpuSeconds: cpuSecondsOf(server.pid), requests: result.requests.total };
        rows.push({
          round: r,
          target: name,
          requestsPerSecond: Math.round(result.requests.average),
          p99Ms: result.latency.p99,
          cpuUsPerRequest: harness.cpuPerRequest(before, after),
        });
      }
    }
    for (const { name, server } of servers) {
      rows.push({ round: 'gc', target: name, ...gcSummary(undefined, (await harness.cacheTally(server.url)).gc) });
    }
    return rows;
  },
};
