import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../test/support/services.js';
import { round, type Row, type Scenario } from '../context.js';
import { measureServer } from '../cpu-budget.js';
import type { Server } from '../processes.js';
import { history } from './history.js';

/**
 * The other build: a directory holding its main.js (a build's dist/), where its imports resolve
 * (inside this checkout, or beside a node_modules of its own).
 */
const COMPARE_DIST = process.env.BENCH_COMPARE_DIST;
/** Measured slices per build (`BENCH_BUILDS_SLICES`) and their length (`BENCH_BUILDS_SLICE_S`). */
const SLICES = Number(process.env.BENCH_BUILDS_SLICES ?? 8);
const SLICE_S = Number(process.env.BENCH_BUILDS_SLICE_S ?? 6);
const WARM_UP_S = 20;
/** Before each slice, unmeasured: a process that waited while the other was measured warms up again. */
const SLICE_WARM_UP_S = 2;

interface Slices {
  cpuUs: number[];
  mainCpuUs: number[];
  requestsPerSecond: number[];
  failures: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Two builds side by side, the way a change is told from the machine's drift: this checkout's
 * (dist/) and another's (BENCH_COMPARE_DIST), each a Parley process of its own on the run's
 * database and Redis, both given the same cached history reads in alternate slices (the order
 * reversed every slice, so that neither build always follows the other). Each slice reports the
 * CPU a read cost the process (all its threads, from /proc) and its main thread (schedstat): on a
 * machine whose speed moves from minute to minute, CPU per request drifts far less than
 * requests/s, and two slices measured one after the other drift alike. The last row gives the
 * other build's difference, slice by slice, as a median and a mean, and its median requests/s
 * ratio. A failed request fails the run: a build that answers errors is not compared.
 */
export const builds: Scenario = {
  name: 'builds',
  description: 'This build and BENCH_COMPARE_DIST’s, cached reads in alternate slices: CPU per read, paired',
  target: 'parley',
  onlyWhenNamed: true,
  requests: (context) => history.requests(context),
  async run(harness) {
    if (COMPARE_DIST === undefined || COMPARE_DIST === '') {
      throw new Error('builds: set BENCH_COMPARE_DIST to the directory of the other build (the one holding main.js)');
    }
    const otherMain = resolve(COMPARE_DIST, 'main.js');
    if (!existsSync(otherMain)) {
      throw new Error(`builds: ${otherMain} does not exist`);
    }
    const reads = history.requests(harness.context);
    // Stopped by the run after the scenario, as every process of startParley.
    const servers: Array<{ name: string; server: Server; slices: Slices }> = [
      { name: 'this-build', server: await harness.startParley(), slices: emptySlices() },
      { name: 'other-build', server: await harness.startParley({}, undefined, otherMain), slices: emptySlices() },
    ];
    for (const { server } of servers) {
      await harness.measure(server.url, reads, { duration: WARM_UP_S });
    }
    const redis = new Redis(REDIS_URL);
    try {
      for (let slice = 0; slice < SLICES; slice += 1) {
        for (const { server, slices } of slice % 2 === 0 ? servers : [...servers].reverse()) {
          await harness.measure(server.url, reads, { duration: SLICE_WARM_UP_S });
          const { result, cpuUsPerRequest, budget } = await measureServer(harness, redis, server, reads, {
            duration: SLICE_S,
          });
          slices.failures += result.non2xx + result.errors + result.timeouts;
          slices.cpuUs.push(cpuUsPerRequest ?? Number.NaN);
          slices.mainCpuUs.push(budget.mainCpuUs ?? Number.NaN);
          slices.requestsPerSecond.push(result.requests.average);
        }
      }
    } finally {
      redis.disconnect();
    }
    const failed = servers.filter(({ slices }) => slices.failures > 0);
    if (failed.length > 0) {
      throw new Error(
        `builds: ${failed.map(({ name, slices }) => `${name} failed ${slices.failures} requests`).join(', ')}`,
      );
    }
    const rows: Row[] = servers.map(({ name, slices }) => ({
      target: name,
      requestsPerSecond: Math.round(median(slices.requestsPerSecond)),
      cpuUsPerRequest: round(median(slices.cpuUs), 1),
      mainCpuUs: round(median(slices.mainCpuUs), 1),
      cpuUsBySlice: slices.cpuUs.map((value) => round(value, 1)).join(' '),
    }));
    const [current, other] = servers.map(({ slices }) => slices) as [Slices, Slices];
    const cpuDifferences = other.cpuUs.map((value, i) => value - (current.cpuUs[i] as number));
    const mainDifferences = other.mainCpuUs.map((value, i) => value - (current.mainCpuUs[i] as number));
    rows.push({
      target: 'other − this',
      requestsPerSecond: round(
        median(other.requestsPerSecond.map((value, i) => value / (current.requestsPerSecond[i] as number))),
      ),
      cpuUsPerRequest: round(median(cpuDifferences), 1),
      cpuUsMeanDifference: round(mean(cpuDifferences), 1),
      mainCpuUs: round(median(mainDifferences), 1),
      cpuUsBySlice: cpuDifferences.map((value) => round(value, 1)).join(' '),
    });
    return rows;
  },
};

function emptySlices(): Slices {
  return { cpuUs: [], mainCpuUs: [], requestsPerSecond: [], failures: 0 };
}
