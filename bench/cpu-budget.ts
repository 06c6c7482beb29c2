/**
 * Where the CPU of a measurement went, from Linux's /proc (and Redis's own INFO): the machine's in
 * all, PostgreSQL's processes, Redis's, one process's, and how much of the time a process's main
 * thread ran or waited for a core. On a machine whose cores also run the databases and the load
 * generator, requests/s alone cannot tell a slow process from a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Options, Result } from 'autocannon';
import type { Redis } from 'ioredis';
import type { BenchHarness } from './context.js';
import type { Server } from './processes.js';

let ticksPerSecond: number | undefined;

/** /proc's clock ticks in seconds. */
function seconds(ticks: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ticks / ticksPerSecond;
}

/** A process's command name and its stat fields after it (state first); null once it is gone. */
function statOf(pid: string | number): { comm: string; fields: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces and parentheses itself.
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
  } catch {
    return null;
  }
}

/**
 * The CPU time a process has used so far (all its threads, user and system), in seconds, and the
 * part of it spent in the kernel on its behalf (its system calls: the reads and writes of its
 * sockets); null once the process is gone.
 */
function cpuTimesOf(pid: number): { total: number; kernel: number } | null {
  const stat = statOf(pid);
  if (stat === null) {
    return null;
  }
  const [user, system] = [Number(stat.fields[11]), Number(stat.fields[12])];
  return { total: seconds(user + system), kernel: seconds(system) };
}

/** A process's CPU time so far (cpuTimesOf): for the servers that export no metrics of their own (the bare routes). */
export function cpuSecondsOf(pid: number): number {
  const times = cpuTimesOf(pid);
  if (times === null) {
    throw new Error(`no process ${pid}`);
  }
  return times.total;
}

/** A process's nice value (stat field 19). */
export function niceOf(pid: number): number {
  const stat = statOf(pid);
  if (stat === null) {
    throw new Error(`no process ${pid}`);
  }
  return Number(stat.fields[16]);
}

/**
 * The nice value of a process's scheduling group, where Linux groups processes by session
 * (autogroup: `/proc/sys/kernel/sched_autogroup_enabled`); null where it does not. The scheduler
 * first shares the cores between the groups, by their nice values, and only within a group by the
 * processes' own: a server's nice weighs against PostgreSQL and Redis (each in a session of its
 * own) only as its group's nice.
 */
export function groupNiceOf(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/autogroup`, 'utf8');
  } catch {
    return null;
  }
  const nice = / nice (-?\d+)/.exec(text)?.[1];
  return nice === undefined ? null : Number(nice);
}

/**
 * The CPU time of every PostgreSQL process on the machine (the server, its background workers and
 * every backend), in seconds, including that of the backends that exited: the postmaster reaps
 * them, and their time is added to its children's (cutime, cstime). A run's pgbench connections
 * are gone by the time it is read.
 */
export function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) {
      continue;
    }
    const stat = statOf(pid);
    if (stat?.comm === 'postgres') {
      const [utime, stime, cutime, cstime] = stat.fields.slice(11, 15).map(Number);
      ticks += (utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0);
    }
  }
  return seconds(ticks);
}

/** Redis's own CPU time (its main thread and its I/O threads), in seconds. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return read('used_cpu_sys') + read('used_cpu_user');
}

/** The machine's CPU time so far while busy (every core), in seconds, and its cores. */
export function machineCpu(): { busy: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const times = (lines[0] ?? '').split(/\s+/).slice(1, 9).map(Number);
  const at = (field: number): number => times[field] ?? 0;
  return {
    busy: seconds(at(0) + at(1) + at(2) + at(5) + at(6) + at(7)),
    cores: lines.filter((line) => /^cpu\d+ /.test(line)).length,
  };
}

/**
 * How long a process's main thread has run on a core, and waited for one while it could run, so
 * far (nanoseconds, /proc/<pid>/task/<pid>/schedstat); null where the kernel keeps no such count.
 */
export function mainThreadSchedule(pid: number): { runningNs: number; waitingNs: number } | null {
  try {
    const [running, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return running === undefined || waiting === undefined ? null : { runningNs: running, waitingNs: waiting };
  } catch {
    return null;
  }
}

/** Everything above at one moment, for one process (`pid`, null: none). */
export interface CpuSnapshot {
  at: number;
  /** The machine's busy CPU seconds (machineCpu). */
  machine: number;
  postgres: number;
  redis: number;
  main: ReturnType<typeof mainThreadSchedule>;
  /** The process's CPU seconds, in all and in the kernel (cpuTimesOf). */
  process: ReturnType<typeof cpuTimesOf>;
}

export async function cpuSnapshot(redis: Redis, pid: number | null): Promise<CpuSnapshot> {
  return {
    at: performance.now(),
    machine: machineCpu().busy,
    postgres: postgresCpuSeconds(),
    redis: await redisCpuSeconds(redis),
    main: pid === null ? null : mainThreadSchedule(pid),
    process: pid === null ? null : cpuTimesOf(pid),
  };
}

/**
 * Between two snapshots, per unit of work done (`done`: requests, transactions): the microseconds
 * of CPU the whole machine, PostgreSQL and Redis spent, and of the process's own the part it spent
 * in the kernel (`kernelCpuUs`: what the rest of its CPU per request is not, its own code, its
 * libraries and its garbage collector) and the part its main thread ran (`mainCpuUs`: the rest is
 * V8's helper threads, compiling and collecting beside it); and the shares of the wall time the
 * main thread ran and waited for a core, in %.
 */
export function cpuBudget(before: CpuSnapshot, after: CpuSnapshot, done: number): Record<string, number | null> {
  const per = (cpuSeconds: number): number | null => (done > 0 ? Math.round((cpuSeconds * 1e6) / done) : null);
  const wallNs = (after.at - before.at) * 1e6;
  const share = (ns: number): number => Math.round((ns / wallNs) * 100);
  return {
    machineCpuUs: per(after.machine - before.machine),
    postgresCpuUs: per(after.postgres - before.postgres),
    redisCpuUs: per(after.redis - before.redis),
    ...(before.process !== null && after.process !== null
      ? { kernelCpuUs: per(after.process.kernel - before.process.kernel) }
      : {}),
    ...(before.main !== null && after.main !== null
      ? {
          mainCpuUs: per((after.main.runningNs - before.main.runningNs) / 1e9),
          mainRunningPct: share(after.main.runningNs - before.main.runningNs),
          mainWaitingPct: share(after.main.waitingNs - before.main.waitingNs),
        }
      : {}),
  };
}

/**
 * One measurement of a server read from /proc, for those that export no metrics of its own (the
 * bare and Nest routes, the send's floor) and any other: its result (autocannon `options` beside
 * the run's), the CPU its process used per request answered, and where the machine's went
 * meanwhile (cpuBudget, its main thread's part among it).
 */
export async function measureServer(
  harness: BenchHarness,
  redis: Redis,
  server: Server,
  requests: NonNullable<Options['requests']>,
  options: Partial<Options> = {},
): Promise<{ result: Result; cpuUsPerRequest: number | null; budget: Record<string, number | null> }> {
  const from = await cpuSnapshot(redis, server.pid);
  const result = await harness.measure(server.url, requests, options);
  const to = await cpuSnapshot(redis, server.pid);
  if (from.process === null || to.process === null) {
    throw new Error(`no process ${server.pid}`);
  }
  const before = { cpuSeconds: from.process.total, requests: 0 };
  const after = { cpuSeconds: to.process.total, requests: result.requests.total };
  return {
    result,
    cpuUsPerRequest: harness.cpuPerRequest(before, after),
    budget: cpuBudget(from, to, result.requests.total),
  };
}
