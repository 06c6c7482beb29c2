/**
 * `npm run bench [-- scenario...]`: Parley (production mode: PostgreSQL + Redis, one process)
 * and a bare Fastify route doing the same Redis GET, measured with autocannon in the same run.
 * Throughput is reported as a ratio to that baseline: absolute numbers drift on shared machines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createTestDatabase, REDIS_URL, TEST_JWT_SECRET, uniqueName } from '../test/support/services.js';
import type { BenchContext, Scenario } from './context.js';
import { freePort, startServer, type Server } from './processes.js';
import { SCENARIOS } from './scenarios/index.js';
import { seedUsers } from './seed.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const root = join(import.meta.dirname, '..');

interface Row {
  scenario: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  ratioToBaseline: number;
}

async function measure(url: string, scenario: Scenario, context: BenchContext, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, requests: scenario.requests(context), timeout: 10 });
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const scenarios = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => wanted.includes(s.name));
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
      LOG_LEVEL: 'warn',
      LOCAL_LLM_DELAY_MS: '0',
      MAX_PENDING_REPLIES: '10000',
      RATE_LIMIT_SENDS: '1000000',
      RATE_LIMIT_READS: '1000000',
      // The reconciler would move replies between the processes' queues: it is not what is measured.
      RECONCILE_INTERVAL_MS: '3600000',
      ...process.env.BENCH_PARLEY_ENV ? JSON.parse(process.env.BENCH_PARLEY_ENV) as Record<string, string> : {},
    };
    const parley = await startServer([join(root, 'dist/main.js')], env, await freePort(), '/health/ready');
    servers.push(parley);
    const bare = await startServer(['--import', 'tsx', join(root, 'bench/bare-fastify.ts')], { REDIS_URL, REDIS_KEY_PREFIX: prefix }, await freePort(), '/bare');
    servers.push(bare);
    const { readers, senders } = await seedUsers(db, USERS);
    let sent = 0;
    const context: BenchContext = { parleyUrl: parley.url, bareUrl: bare.url, users: readers, counter: { next: () => (sent += 1) } };

    const rows: Row[] = [];
    let baseline = 0;
    for (const scenario of scenarios) {
      let parleyUrl = parley.url;
      if (scenario.parleyEnv) {
        // Its own Parley process (same database, its own queue), stopped before the next scenario.
        const ownEnv = { ...env, REDIS_KEY_PREFIX: `${prefix}_${rows.length}`, ...scenario.parleyEnv };
        const own = await startServer([join(root, 'dist/main.js')], ownEnv, await freePort(), '/health/ready');
        servers.push(own);
        parleyUrl = own.url;
      }
      const scenarioContext = { ...context, parleyUrl, users: scenario.users === 'senders' ? senders : readers };
      const url = scenario.target === 'bare' ? bare.url : parleyUrl;
      await measure(url, scenario, scenarioContext, 2);
      const result = await measure(url, scenario, scenarioContext, DURATION_S);
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
      });
      if (scenario.parleyEnv) {
        await servers.pop()?.stop();
      }
    }
    console.table(rows);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(
      join(root, 'bench/results/latest.json'),
      JSON.stringify({ at: new Date().toISOString(), durationS: DURATION_S, connections: CONNECTIONS, users: USERS, rows }, null, 2),
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await db.drop();
  }
}

await main();
