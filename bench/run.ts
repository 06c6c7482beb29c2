/**
 * `npm run bench [-- scenario...]`: Parley (production mode: PostgreSQL + Redis, one process)
 * and a bare Fastify route doing the same Redis GET, measured with autocannon in the same run.
 * Throughput is reported as a ratio to that baseline: absolute numbers drift on shared machines.
 * Scenarios on `parley-uncached` run against a second Parley process with CACHE_ENABLED=false;
 * the cache hit rate of each Parley scenario comes from its process's /metrics.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { configMapData, imageEnv, imageNodeFlags, imageNodeOptions } from '../test/support/deployment.js';
import { freePort } from '../test/support/ports.js';
import { parseMetrics, valueOf, type Sample } from '../test/support/prometheus.js';
import { createTestDatabase, REDIS_URL, TEST_JWT_SECRET, uniqueName } from '../test/support/services.js';
import type { BenchContext, BenchHarness, CacheTally, CpuTally, Row, Scenario } from './context.js';
import { startServer, type Server } from './processes.js';
import { SCENARIOS } from './scenarios/index.js';
import { seedUsers } from './seed.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
/** How many times the scenarios that alternate two things measure each of them. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const root = join(import.meta.dirname, '..');
/** Node options for the Parley processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`. */
const PARLEY_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
/**
 * The arguments of `node` for a Parley process: its Node flags (by default the image's, those of
 * docker/Dockerfile's CMD: Parley is started as the image starts it), BENCH_NODE_ARGS, and the
 * entry point (by default this checkout's build, dist/main.js).
 */
function parleyArgs(nodeFlags: readonly string[] = imageNodeFlags(), main = join(root, 'dist/main.js')): string[] {
  return [...nodeFlags, ...PARLEY_NODE_ARGS, main];
}

const METRICS_TOKEN = 'bench-metrics-token';

/**
 * Parley runs here as the image and the manifests run it: the image's NODE_OPTIONS (heap sizing)
 * and MALLOC_ARENA_MAX (docker/Dockerfile), and the heap at which the manifests shed load
 * (k8s/configmap.yaml).
 */
function productionSizing(): Record<string, string> {
  const nodeOptions = imageNodeOptions();
  const arenas = imageEnv('MALLOC_ARENA_MAX');
  const heapShed = configMapData().SHED_MAX_HEAP_BYTES;
  if (nodeOptions === '' || arenas === undefined || heapShed === undefined) {
    throw new Error(
      'NODE_OPTIONS or MALLOC_ARENA_MAX (docker/Dockerfile) or SHED_MAX_HEAP_BYTES (k8s/configmap.yaml) not found',
    );
  }
  return { NODE_OPTIONS: nodeOptions, MALLOC_ARENA_MAX: arenas, SHED_MAX_HEAP_BYTES: heapShed };
}

/** A Parley process's metrics (GET /metrics with the run's token). */
async function metrics(url: string): Promise<Sample[]> {
  return parseMetrics(
    await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text(),
  );
}

/** Look-ups answered by either tier, and those that neither answered (as /v1/admin/stats counts them). */
async function cacheTally(url: string): Promise<CacheTally> {
  const samples = await metrics(url);
  const count = (tier: string, result: string): number =>
    valueOf(samples, 'parley_cache_requests_total', { tier, result });
  return {
    hits: count('memory', 'hit') + count('redis', 'hit'),
    misses: Math.max(0, count('memory', 'miss') - count('redis', 'hit')),
    cpuSeconds: valueOf(samples, 'process_cpu_seconds_total'),
    requests: valueOf(samples, 'http_requests_total'),
    repliesCompleted: valueOf(samples, 'parley_replies_total', { outcome: 'complete' }),
    gc: {
      minor: valueOf(samples, 'nodejs_gc_duration_seconds_count', { kind: 'minor' }),
      minorSeconds: valueOf(samples, 'nodejs_gc_duration_seconds_sum', { kind: 'minor' }),
      major: valueOf(samples, 'nodejs_gc_duration_seconds_count', { kind: 'major' }),
      majorSeconds: valueOf(samples, 'nodejs_gc_duration_seconds_sum', { kind: 'major' }),
    },
  };
}

/**
 * The CPU a request cost a process (every thread: its garbage collector's helpers too),
 * in microseconds: steadier from run to run than requests/s on a shared machine, where the load
 * generator and the databases take what the process leaves.
 */
function cpuPerRequest(before: CpuTally, after: CpuTally): number | null {
  const requests = after.requests - before.requests;
  return requests <= 0 ? null : Math.round(((after.cpuSeconds - before.cpuSeconds) * 1e6) / requests);
}

/** The longest wait for a process's reply queue to empty (`BENCH_DRAIN_TIMEOUT_S`). */
const DRAIN_TIMEOUT_S = Number(process.env.BENCH_DRAIN_TIMEOUT_S ?? 600);

/**
 * Replies still queued from an earlier scenario would compete with the next one for the CPU (the
 * sends of send-vs-pgbench leave thousands behind them): the next measurement starts only once the
 * queue is empty, and the run fails rather than measure beside a backlog.
 */
async function drained(url: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_S * 1000;
  let open = 0;
  while (Date.now() < deadline) {
    const samples = await metrics(url);
    open = ['waiting', 'active', 'delayed'].reduce(
      (sum, state) => sum + valueOf(samples, 'parley_queue_jobs', { state }),
      0,
    );
    if (open === 0) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url}: ${open} replies still queued after ${DRAIN_TIMEOUT_S} s (BENCH_DRAIN_TIMEOUT_S)`);
}

function hitRate(before: CacheTally, after: CacheTally): number | null {
  const hits = after.hits - before.hits;
  const total = hits + after.misses - before.misses;
  return total === 0 ? null : Math.round((hits / total) * 1000) / 1000;
}

async function measure(
  url: string,
  scenario: Scenario,
  context: BenchContext,
  seconds: number,
): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: scenario.requests(context),
    timeout: 10,
  });
}

function harnessFor(
  base: Omit<
    BenchHarness,
    'startParley' | 'measure' | 'metrics' | 'cacheTally' | 'hitRate' | 'cpuPerRequest' | 'drained'
  >,
  servers: Server[],
): BenchHarness {
  return {
    ...base,
    startParley: async (extraEnv = {}, nodeFlags, main) => {
      const env = { ...base.env, REDIS_KEY_PREFIX: `${base.prefix}_own${servers.length}`, ...extraEnv };
      const own = await startServer(parleyArgs(nodeFlags, main), env, await freePort(), '/health/ready');
      servers.push(own);
      return own;
    },
    measure: (url, requests, options = {}, onResponse) =>
      new Promise((resolve, reject) => {
        const instance = autocannon(
          { url, connections: base.connections, duration: base.durationS, requests, timeout: 10, ...options },
          (error: unknown, result) => {
            if (error === null || error === undefined) {
              resolve(result);
            } else {
              reject(error instanceof Error ? error : new Error(`autocannon failed: ${JSON.stringify(error)}`));
            }
          },
        );
        if (onResponse !== undefined) {
          instance.on('response', (_client, _status, _bytes, latencyMs) => onResponse(latencyMs));
        }
      }),
    metrics,
    cacheTally,
    hitRate,
    cpuPerRequest,
    drained,
  };
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const scenarios =
    wanted.length === 0
      ? SCENARIOS.filter((s) => s.onlyWhenNamed !== true)
      : SCENARIOS.filter((s) => wanted.includes(s.name));
  const db = await createTestDatabase('parley_bench');
  const prefix = uniqueName('bench');
  const servers: Server[] = [];
  try {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: TEST_JWT_SECRET,
      METRICS_TOKEN,
      LOG_LEVEL: 'warn',
      LOCAL_LLM_DELAY_MS: '0',
      MAX_PENDING_REPLIES: '10000',
      RATE_LIMIT_SENDS: '1000000',
      RATE_LIMIT_READS: '1000000',
      // The reconciler would move replies between the processes' queues: it is not what is measured.
      RECONCILE_INTERVAL_MS: '3600000',
      ...productionSizing(),
      ...(process.env.BENCH_PARLEY_ENV ? (JSON.parse(process.env.BENCH_PARLEY_ENV) as Record<string, string>) : {}),
    };
    const parley = await startServer(parleyArgs(), env, await freePort(), '/health/ready');
    servers.push(parley);
    let uncachedUrl = '';
    if (scenarios.some((s) => s.target === 'parley-uncached')) {
      // A key prefix of its own: its queue (and its reply workers) serve only its own sends.
      const uncachedEnv = { ...env, CACHE_ENABLED: 'false', REDIS_KEY_PREFIX: `${prefix}-uncached` };
      const uncached = await startServer(parleyArgs(), uncachedEnv, await freePort(), '/health/ready');
      servers.push(uncached);
      uncachedUrl = uncached.url;
    }
    const bare = await startServer(
      ['--import', 'tsx', join(root, 'bench/bare-fastify.ts')],
      { REDIS_URL, REDIS_KEY_PREFIX: prefix },
      await freePort(),
      '/bare',
    );
    servers.push(bare);
    const seeded = await seedUsers(db, USERS);
    const { readers, senders } = seeded;
    let sent = 0;
    const context: BenchContext = {
      parleyUrl: parley.url,
      bareUrl: bare.url,
      users: readers,
      counter: { next: () => (sent += 1) },
    };

    const rows: Row[] = [];
    let baseline = 0;
    for (const scenario of scenarios) {
      if (scenario.run) {
        await Promise.all([parley.url, uncachedUrl].filter((u) => u !== '').map((u) => drained(u)));
        const own = servers.length;
        const harness = harnessFor(
          {
            db,
            prefix,
            bare,
            parley,
            seeded,
            context,
            env,
            durationS: DURATION_S,
            connections: CONNECTIONS,
            rounds: ROUNDS,
          },
          servers,
        );
        for (const row of await scenario.run(harness)) {
          rows.push({ scenario: scenario.name, ...row });
        }
        await Promise.all(servers.splice(own).map((server) => server.stop()));
        continue;
      }
      let parleyUrl = scenario.target === 'parley-uncached' ? uncachedUrl : parley.url;
      if (scenario.parleyEnv) {
        // Its own Parley process (same database, its own queue), stopped before the next scenario.
        const ownEnv = { ...env, REDIS_KEY_PREFIX: `${prefix}_${rows.length}`, ...scenario.parleyEnv };
        const own = await startServer(parleyArgs(), ownEnv, await freePort(), '/health/ready');
        servers.push(own);
        parleyUrl = own.url;
      }
      const scenarioContext = { ...context, parleyUrl, users: scenario.users === 'senders' ? senders : readers };
      const url = scenario.target === 'bare' ? bare.url : parleyUrl;
      await Promise.all([parley.url, uncachedUrl].filter((u) => u !== '').map((u) => drained(u)));
      await measure(url, scenario, scenarioContext, 2);
      const before = scenario.target === 'bare' ? null : await cacheTally(url);
      const result = await measure(url, scenario, scenarioContext, DURATION_S);
      const after = scenario.target === 'bare' ? null : await cacheTally(url);
      if (scenario.target === 'bare') {
        baseline = result.requests.average;
      }
      rows.push({
        scenario: scenario.name,
        requestsPerSecond: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        ratioToBaseline: baseline > 0 ? Math.round((result.requests.average / baseline) * 1000) / 1000 : Number.NaN,
        cacheHitRate: before && after ? hitRate(before, after) : null,
        cpuUsPerRequest: before && after ? cpuPerRequest(before, after) : null,
      });
      if (scenario.parleyEnv) {
        await servers.pop()?.stop();
      }
    }
    console.table(rows);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(
      join(root, 'bench/results/latest.json'),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          durationS: DURATION_S,
          connections: CONNECTIONS,
          users: USERS,
          rounds: ROUNDS,
          rows,
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await db.drop();
    await dropKeys(prefix);
  }
}

/**
 * The run's keys in the shared Redis (every process of the run keys under `prefix`): a send's
 * replies left queued, transcripts, version counters. Kept, they piled up over runs (half a million
 * keys, 480 MB, after a day's runs).
 */
async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.unlink(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

await main();
