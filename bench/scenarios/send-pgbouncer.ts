import { Redis } from 'ioredis';
import { PgBouncer } from '../../test/support/pgbouncer.js';
import { REDIS_URL } from '../../test/support/services.js';
import { round, summary, type Row, type Scenario } from '../context.js';
import { measureServer } from '../cpu-budget.js';
import type { Server } from '../processes.js';
import { send } from './send.js';

/** Seconds of sends each process gets before the first round, as `send-vs-pgbench`'s. */
const WARM_UP_S = Number(process.env.BENCH_SEND_WARM_UP_S ?? 15);
/** Server connections of each PgBouncer (its `default_pool_size`): PostgreSQL's side of the pool. */
const SERVER_CONNECTIONS = Number(process.env.BENCH_PGBOUNCER_POOL_SIZE ?? 10);

/** Sums over the rounds (then their means) of one process's sends/s and CPU per send. */
interface Totals {
  rate: number;
  postgresCpuUs: number;
  machineCpuUs: number;
}

/**
 * Sends through PgBouncer in transaction mode, the deployments' topology, with and without the
 * statements prepared through it: two Parley processes (each generating its own replies, on a
 * Redis prefix of its own), each behind a PgBouncer of its own of the same version (1.21 or later,
 * .ci/install-newer-pgbouncer), one keeping no prepared statements (`max_prepared_statements = 0`,
 * the pool prepares nothing) and one keeping them (100, DATABASE_POOLER_PREPARED_STATEMENTS=true),
 * measured in alternate rounds (the order reversed each round), the replies of the one before
 * generated first. Reports sends/s and what a send cost the machine, PostgreSQL among it, and
 * the ratio of the two.
 */
export const sendPgbouncer: Scenario = {
  name: 'send-pgbouncer',
  description: 'Sends through PgBouncer, statements prepared through it or not, alternated',
  target: 'parley',
  users: 'senders',
  onlyWhenNamed: true,
  requests: (context) => send.requests(context),
  async run(harness) {
    const bouncers: PgBouncer[] = [];
    const redis = new Redis(REDIS_URL);
    try {
      const processes: Array<{ target: string; server: Server }> = [];
      for (const prepared of [false, true]) {
        const bouncer = await PgBouncer.start({
          newer: true,
          maxPreparedStatements: prepared ? 100 : 0,
          defaultPoolSize: SERVER_CONNECTIONS,
        });
        bouncers.push(bouncer);
        const server = await harness.startParley({
          DATABASE_URL: bouncer.urlFor(harness.db.url),
          DATABASE_DIRECT_URL: harness.db.url,
          DATABASE_POOLER_PREPARED_STATEMENTS: String(prepared),
        });
        processes.push({ target: prepared ? 'pgbouncer-prepared' : 'pgbouncer-unnamed', server });
      }
      const requests = send.requests({ ...harness.context, users: harness.seeded.senders });
      for (const { server } of processes) {
        await harness.measure(server.url, requests, { duration: WARM_UP_S });
      }
      const rows: Row[] = [];
      const totals = new Map<string, Totals>();
      for (let r = 1; r <= harness.rounds; r += 1) {
        for (const { target, server } of r % 2 === 1 ? processes : [...processes].reverse()) {
          for (const other of processes) {
            await harness.drained(other.server.url);
          }
          const { result, cpuUsPerRequest, budget } = await measureServer(harness, redis, server, requests);
          rows.push({ round: r, target, ...summary(result), cpuUsPerRequest, ...budget });
          const total = totals.get(target) ?? { rate: 0, postgresCpuUs: 0, machineCpuUs: 0 };
          total.rate += result.requests.average;
          total.postgresCpuUs += budget.postgresCpuUs ?? 0;
          total.machineCpuUs += budget.machineCpuUs ?? 0;
          totals.set(target, total);
        }
      }
      const mean = (target: string): Totals => {
        const total = totals.get(target) ?? { rate: 0, postgresCpuUs: 0, machineCpuUs: 0 };
        return {
          rate: total.rate / harness.rounds,
          postgresCpuUs: total.postgresCpuUs / harness.rounds,
          machineCpuUs: total.machineCpuUs / harness.rounds,
        };
      };
      const unnamed = mean('pgbouncer-unnamed');
      const prepared = mean('pgbouncer-prepared');
      // The rate's ratio; the CPU per send, PostgreSQL's and the machine's, as prepared minus unnamed.
      rows.push({
        round: 'all',
        target: 'prepared vs unnamed',
        ratio: round(prepared.rate / Math.max(1, unnamed.rate)),
        postgresCpuUs: round(prepared.postgresCpuUs - unnamed.postgresCpuUs, 1),
        machineCpuUs: round(prepared.machineCpuUs - unnamed.machineCpuUs, 1),
      });
      return rows;
    } finally {
      redis.disconnect();
      for (const bouncer of bouncers) {
        await bouncer.stop();
      }
    }
  },
};
