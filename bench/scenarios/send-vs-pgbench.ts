import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { OWNER_LOCK_SQL, PLAIN_EXCHANGE_SQL } from '../../src/messages/message.repository.js';
import { LOCK_OWNED_SESSION_SQL } from '../../src/session/session.repository.js';
import { REDIS_URL, type TestDatabase } from '../../test/support/services.js';
import { round, summary, type BenchHarness, type CacheTally, type Row, type Scenario } from '../context.js';
import { niced, startNestFloor, type Server } from '../processes.js';
import { cpuBudget, cpuSecondsOf, cpuSnapshot, machineCpu, measureServer } from '../cpu-budget.js';
import { send } from './send.js';

const PGBENCH = process.env.BENCH_PGBENCH ?? 'pgbench';

/**
 * Seconds of sends the Parley process gets before the first round (`BENCH_SEND_WARM_UP_S`): its
 * send reaches its steady cost only after a while. Sampled every 5 s under this load, a fresh
 * process used 776 µs of CPU per send in its first seconds, 603 in the next five, and 483-504 over
 * the twenty after (then 519-578, while its sessions and its backlog of replies grew). With 2 s
 * of warm-up, one run's first round cost 982 µs per send, and the next two 744 and 753. The
 * replies the warm-up leaves are generated before the first round starts.
 */
const WARM_UP_S = Number(process.env.BENCH_SEND_WARM_UP_S ?? 15);

/**
 * `BENCH_SEND_ROLES=split`: the sends go to an API process (`APP_ROLE=api`) and a worker process
 * (`APP_ROLE=worker`) on the same queue generates their replies, as the deployments run them
 * (k8s/, docker/compose.yaml). By default one process of the role `all` does both, and its worker
 * gets only the turns of the event loop that the requests leave: most replies of a round are made
 * after it. `repliesPerSend` (replies completed during the round per send) tells how much of the
 * reply pipeline a round's sends paid for, and in the split `workerCpuUs` what it cost the worker.
 */
const SPLIT = process.env.BENCH_SEND_ROLES === 'split';

const session = `md5('pgbench-' || :n)::uuid`;
const owner = `'bench-user-' || :n`;
const key = `'pgb-' || :client_id || '-' || :k`;

/** A statement of Parley's on one line of a pgbench script, its parameters ($1, $2...) spelled as pgbench's `params`. */
function pgbenchLine(sql: string, params: readonly string[]): string {
  return params
    .reduceRight((text, value, i) => text.replaceAll(`$${i + 1}`, `(${value})`), sql)
    .replace(/\s+/g, ' ')
    .trim();
}

/** PLAIN_EXCHANGE_SQL's parameters as pgbench spells them, $1 to $8. */
const PLAIN_PARAMS = [
  `md5('pgb-m-' || :client_id || '-' || :k)::uuid`,
  `md5('pgb-r-' || :client_id || '-' || :k)::uuid`,
  session,
  owner,
  `'How far is the moon?'`,
  key,
  `'pgbench'`,
  ':max_pending',
];

/**
 * The statements of a plain send (MessageRepository.appendPlain: no parent named, an idempotency
 * key, reply mode `each`), in their order and grouped as Parley sends them straight to PostgreSQL
 * (as the bench runs it: the timeouts are the connection's, set once): the opening, the two locks,
 * the insert that checks the key, the pending replies and the reply mode itself, and the COMMIT,
 * pipelined: one round trip. Sessions and users are the bench's own (`pgbench-<n>`,
 * `bench-user-<n>`). pgbench prepares its statements (`-M prepared`), as Parley's connections do.
 * A transaction's ids and idempotency key come from its client and a 63-bit draw: with a 31-bit
 * one, two transactions of a client met in about one run in a hundred, and the second failed on
 * the primary key, aborting the run.
 */
export const SEND_TRANSACTION_SCRIPT = `\\set n random(0, :users - 1)
\\set k random(1, 9000000000000000000)
\\startpipeline
START TRANSACTION;
${pgbenchLine(OWNER_LOCK_SQL, [`'pending:' || ${owner}`])};
${pgbenchLine(LOCK_OWNED_SESSION_SQL, [session, owner])};
${pgbenchLine(PLAIN_EXCHANGE_SQL, PLAIN_PARAMS)};
COMMIT;
\\endpipeline
`;

interface PgbenchResult {
  tps: number;
  transactions: number;
  latencyAvgMs: number;
  failed: number;
}

async function pgbench(databaseUrl: string, args: string[]): Promise<PgbenchResult> {
  const [command, commandArgs] = niced(PGBENCH, [...args, databaseUrl]);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  const latency = /latency average = ([\d.]+) ms/.exec(output);
  const failed = /number of failed transactions: (\d+)/.exec(output);
  const processed = /number of transactions actually processed: (\d+)/.exec(output);
  // nice(1) runs the command even when it could not set the value, saying so on stderr.
  if (code !== 0 || tps === null || latency === null || processed === null || /^nice: /m.test(output)) {
    throw new Error(`pgbench failed (${code}):\n${output.slice(-3000)}`);
  }
  return {
    tps: Number(tps[1]),
    transactions: Number(processed[1]),
    latencyAvgMs: Number(latency[1]),
    failed: Number(failed?.[1] ?? 0),
  };
}

/**
 * pgbench stores the pending replies of its sends, and nothing generates them: left pending, they
 * lengthened every later round's pending-reply checks (for pgbench, and for Parley's sends of the
 * same users), and pgbench's rate fell round after round (5,022, 3,434, 3,146 tps in one run).
 * They are completed after each run, as Parley's process generates its own before each round; so
 * are the send floor's (request id `floor`).
 */
async function completePgbenchReplies(db: TestDatabase): Promise<void> {
  await db.query(
    "UPDATE messages SET status = 'complete', content = 'pgbench' WHERE request_id IN ('pgbench', 'floor') AND status = 'pending'",
  );
}

/**
 * Before each measured phase, Parley's and pgbench's alike, the database is brought to the same
 * state: VACUUM ANALYZE (of the run's own database: the dead rows that the replies' updates and
 * pgbench's completed replies leave, which nothing else may clear, since a cluster may run with
 * autovacuum off) and a CHECKPOINT, so that no phase starts with another's maintenance still due.
 * Each row reports the checkpoints that fell within its phase (`checkpoints`). They do not explain
 * the swings between rounds: with both, PostgreSQL still spent 1,216 to 2,964 µs of CPU per
 * pgbench transaction in the rounds of one run, with no checkpoint in any of them.
 */
async function settle(db: TestDatabase): Promise<void> {
  await db.query('VACUUM ANALYZE');
  await db.query('CHECKPOINT');
}

/**
 * Reads PostgreSQL's checkpoints so far (a phase that held one says so), from where this server
 * keeps them: PostgreSQL 17 moved the counts from pg_stat_bgwriter to pg_stat_checkpointer. The
 * server's version is asked once.
 */
async function checkpointCounter(db: TestDatabase): Promise<() => Promise<number>> {
  const [version] = await db.query<{ n: string }>("SELECT current_setting('server_version_num') AS n");
  const sql =
    Number(version?.n) >= 170000
      ? 'SELECT num_timed + num_requested AS n FROM pg_stat_checkpointer'
      : 'SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter';
  return async () => {
    const [row] = await db.query<{ n: string }>(sql);
    return Number(row?.n ?? 0);
  };
}

/**
 * Waits until pgbench's connections have ended on the server side, and a moment more for the
 * postmaster to reap their processes: only then is their CPU time counted in its children's
 * (postgresCpuSeconds), rather than lost between the two.
 */
async function pgbenchBackendsGone(db: TestDatabase): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [row] = await db.query<{ open: string }>(
      "SELECT count(*) AS open FROM pg_stat_activity WHERE application_name = 'pgbench'",
    );
    if (Number(row?.open ?? 0) === 0) {
      break;
    }
    await sleep(50);
  }
  await sleep(250);
}

/** PostgreSQL's `md5(text)::uuid`, as the pgbench sessions' ids are made. */
function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The send floor (bench/bare-nest.ts, `POST /v1/sessions/:sessionId/messages`): NestJS on Fastify
 * with one Redis round trip and the send's SQL transaction, nothing of Parley's. It sends to the
 * pgbench sessions (`pgbench-<n>`, each user's own), so that its pending replies are completed with
 * pgbench's and never meet Parley's sends.
 */
function startSendFloor(harness: BenchHarness): Promise<Server> {
  return startNestFloor({
    REDIS_URL,
    REDIS_KEY_PREFIX: `${harness.prefix}_floor`,
    DATABASE_URL: harness.db.url,
    MAX_PENDING_REPLIES: harness.env.MAX_PENDING_REPLIES ?? '10',
    ...(harness.env.DATABASE_POOL_SIZE === undefined ? {} : { DATABASE_POOL_SIZE: harness.env.DATABASE_POOL_SIZE }),
  });
}

/**
 * Sends (POST a message: stored with its pending reply and enqueued, the reply then generated by
 * the local responder in the same process) against pgbench running the send's own SQL transaction
 * on the same database with as many clients as the bench has connections, alternated round by
 * round: sends/s ÷ pgbench tps. Between them, each round measures the send floor (startSendFloor):
 * what NestJS and the drivers reach with the same transaction and nothing of Parley's, against the
 * same pgbench (`nest-send-floor`), and Parley's sends against it.
 */
export const sendVsPgbench: Scenario = {
  name: 'send-vs-pgbench',
  description: "Sends (whole reply pipeline in the process) vs pgbench running the send's SQL transaction, alternated",
  target: 'parley',
  users: 'senders',
  requests: (context) => send.requests(context),
  async run(harness) {
    const users = harness.seeded.senders.length;
    const clients = Number(process.env.BENCH_PGBENCH_CLIENTS ?? harness.connections);
    await harness.db.query(
      `INSERT INTO sessions (id, owner_id, title, last_seq, message_count)
       SELECT md5('pgbench-' || n)::uuid, 'bench-user-' || n, 'pgbench', 2, 2 FROM generate_series(0, $1 - 1) n`,
      [users],
    );
    await harness.db.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
       SELECT md5('pgbench-q-' || n)::uuid, md5('pgbench-' || n)::uuid, 'bench-user-' || n, 1, 'user', 'Hello?', 'complete', NULL, NULL
       FROM generate_series(0, $1 - 1) n
       UNION ALL
       SELECT md5('pgbench-a-' || n)::uuid, md5('pgbench-' || n)::uuid, 'bench-user-' || n, 2, 'assistant', 'Hello.', 'complete',
         md5('pgbench-q-' || n)::uuid, md5('pgbench-q-' || n)::uuid
       FROM generate_series(0, $1 - 1) n`,
      [users],
    );
    const dir = mkdtempSync(join(tmpdir(), 'parley-pgbench-'));
    const script = join(dir, 'send.sql');
    writeFileSync(script, SEND_TRANSACTION_SCRIPT);
    const args = (seconds: number): string[] => [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      String(seconds),
      '-f',
      script,
      '-D',
      `users=${users}`,
      '-D',
      `max_pending=${harness.env.MAX_PENDING_REPLIES ?? 10}`,
    ];
    const redis = new Redis(REDIS_URL);
    let floor: Server | null = null;
    try {
      const prefix = `${harness.prefix}_sends`;
      const parley = await harness.startParley(SPLIT ? { APP_ROLE: 'api', REDIS_KEY_PREFIX: prefix } : {});
      const worker = SPLIT ? await harness.startParley({ APP_ROLE: 'worker', REDIS_KEY_PREFIX: prefix }) : null;
      /** Replies completed so far by the process that generates them. */
      const replies = async (own: CacheTally): Promise<number> =>
        worker === null ? own.repliesCompleted : (await harness.cacheTally(worker.url)).repliesCompleted;
      const context = { ...harness.context, parleyUrl: parley.url, users: harness.seeded.senders };
      const requests = send.requests(context);
      floor = await startSendFloor(harness);
      const floorUsers = harness.seeded.senders.map((user, n) => ({ ...user, sessionId: md5Uuid(`pgbench-${n}`) }));
      const floorRequests = send.requests({ ...context, users: floorUsers });
      await harness.measure(parley.url, requests, { duration: WARM_UP_S });
      await harness.measure(floor.url, floorRequests, { duration: WARM_UP_S });
      await completePgbenchReplies(harness.db);
      await pgbench(harness.db.url, args(2));
      await completePgbenchReplies(harness.db);
      const rows: Row[] = [];
      /** Sums over the rounds: rates (for the ratio), and the sends with the machine's CPU over them. */
      const totals = { sendRate: 0, tps: 0, sent: 0, sendCpuSeconds: 0, floorRate: 0 };
      const checkpoints = await checkpointCounter(harness.db);
      for (let r = 1; r <= harness.rounds; r += 1) {
        await harness.drained(parley.url);
        await settle(harness.db);
        const sendCheckpoints = await checkpoints();
        const before = await harness.cacheTally(parley.url);
        const repliesBefore = await replies(before);
        const sendsFrom = await cpuSnapshot(redis, parley.pid);
        // The worker's CPU and the sends meanwhile, as the harness's tallies of CPU and requests.
        const workerFrom = worker === null ? null : { cpuSeconds: cpuSecondsOf(worker.pid), requests: 0 };
        const result = await harness.measure(parley.url, requests);
        const sendsTo = await cpuSnapshot(redis, parley.pid);
        const sends = Math.max(1, result.requests.total);
        const workerTo = worker === null ? null : { cpuSeconds: cpuSecondsOf(worker.pid), requests: sends };
        const after = await harness.cacheTally(parley.url);
        const repliesAfter = await replies(after);
        const sendCheckpointsAfter = await checkpoints();
        await harness.drained(parley.url);
        await settle(harness.db);
        const floorRun = await measureServer(harness, redis, floor, floorRequests);
        await completePgbenchReplies(harness.db);
        await settle(harness.db);
        const pgbenchCheckpoints = await checkpoints();
        const pgbenchFrom = await cpuSnapshot(redis, null);
        const ceiling = await pgbench(harness.db.url, args(harness.durationS));
        await pgbenchBackendsGone(harness.db);
        const pgbenchTo = await cpuSnapshot(redis, null);
        const pgbenchCheckpointsAfter = await checkpoints();
        await completePgbenchReplies(harness.db);
        // Its CPU per send includes the replies the process generated meanwhile.
        rows.push({
          round: r,
          target: 'parley-send',
          ...summary(result),
          cpuUsPerRequest: harness.cpuPerRequest(before, after),
          ...(workerFrom === null || workerTo === null
            ? {}
            : { workerCpuUs: harness.cpuPerRequest(workerFrom, workerTo) }),
          repliesPerSend: round((repliesAfter - repliesBefore) / sends),
          checkpoints: sendCheckpointsAfter - sendCheckpoints,
          ...cpuBudget(sendsFrom, sendsTo, result.requests.total),
        });
        rows.push({
          round: r,
          target: 'nest-send-floor',
          ...summary(floorRun.result),
          cpuUsPerRequest: floorRun.cpuUsPerRequest,
          ratio: round(floorRun.result.requests.average / ceiling.tps),
          ...floorRun.budget,
        });
        rows.push({
          round: r,
          target: 'pgbench-send-sql',
          requestsPerSecond: Math.round(ceiling.tps),
          avgMs: ceiling.latencyAvgMs,
          errors: ceiling.failed,
          clients,
          ratio: round(result.requests.average / ceiling.tps),
          checkpoints: pgbenchCheckpointsAfter - pgbenchCheckpoints,
          ...cpuBudget(pgbenchFrom, pgbenchTo, ceiling.transactions),
        });
        totals.sendRate += result.requests.average;
        totals.floorRate += floorRun.result.requests.average;
        totals.tps += ceiling.tps;
        totals.sent += result.requests.total;
        totals.sendCpuSeconds += sendsTo.machine - sendsFrom.machine;
      }
      // The sends/s the machine would serve with every core busy, at what a send cost it in all
      // (Parley, PostgreSQL, Redis, the load generator, the replies meanwhile): the most that a
      // better use of the cores could give, against pgbench's rate.
      const { cores } = machineCpu();
      const fullMachine = totals.sendCpuSeconds > 0 ? (cores * totals.sent) / totals.sendCpuSeconds : 0;
      rows.push({ round: 'all', target: 'nest-send-floor / pgbench', ratio: round(totals.floorRate / totals.tps) });
      rows.push({
        round: 'all',
        target: 'parley-send / nest-send-floor',
        ratio: round(totals.sendRate / totals.floorRate),
      });
      rows.push({
        round: 'all',
        target: 'parley-send / pgbench',
        ratio: round(totals.sendRate / totals.tps),
        sendsAtFullMachine: Math.round(fullMachine),
        fullMachineRatio: round(fullMachine / (totals.tps / harness.rounds)),
      });
      return rows;
    } finally {
      redis.disconnect();
      await floor?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
