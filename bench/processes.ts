import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/ports.js';
import { groupNiceOf, niceOf } from './cpu-budget.js';

/**
 * `BENCH_NICE`: the nice value of every server the bench starts (bare, Nest and Parley alike) and
 * of pgbench (default 0, the bench's own). On a machine whose cores the servers share with the
 * databases they wake, a negative value gives the server's event loop precedence over the
 * PostgreSQL backends and Redis it writes to (see the README's Benchmark section). Setting a
 * negative value needs root or CAP_SYS_NICE: a server that did not get it fails the run.
 */
export const SERVER_NICE = Number(process.env.BENCH_NICE ?? 0);

/** `command args` run at SERVER_NICE (nice(1) execs the command: the process id is the command's). */
export function niced(command: string, args: string[]): [string, string[]] {
  return SERVER_NICE === 0 ? [command, args] : ['nice', ['-n', String(SERVER_NICE), command, ...args]];
}

export interface Server {
  url: string;
  /** The server's process id, to sample its memory. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts a server process and waits until `readyPath` answers 200. Output is drained, kept for
 * errors. The server runs in a session of its own, as a service does (and as PostgreSQL and Redis
 * do), not in the bench's: where sessions are scheduling groups (groupNiceOf), it would otherwise
 * share one group with the load generators (autocannon in the bench's own process, and pgbench),
 * and its nice value would weigh only against them. With BENCH_NICE its group gets the same nice
 * value as the server.
 */
export async function startServer(
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
): Promise<Server> {
  const [command, commandArgs] = niced(process.execPath, args);
  const child: ChildProcess = spawn(command, commandArgs, {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Outside the bench's session a server no longer gets the terminal's signals: the bench ending
  // for any reason (a failed run included) ends it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  if (SERVER_NICE !== 0 && child.pid !== undefined && groupNiceOf(child.pid) !== null) {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(SERVER_NICE));
  }
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) {
      // A crash mid-run: its last output says why (the run itself then fails on a refused connection).
      console.error(`${url} exited (${code ?? signal}) before it was stopped:\n${output}`);
    }
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`server exited:\n${output}`);
    }
    const ok = await fetch(`${url}${readyPath}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      const nice = child.pid === undefined ? SERVER_NICE : niceOf(child.pid);
      const groupNice = child.pid === undefined ? null : groupNiceOf(child.pid);
      if (nice !== SERVER_NICE || (groupNice !== null && groupNice !== SERVER_NICE)) {
        child.kill('SIGKILL');
        throw new Error(
          `server runs at nice ${nice} (its group at ${groupNice}), not BENCH_NICE=${SERVER_NICE}:\n${output}`,
        );
      }
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server never became ready:\n${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid: child.pid ?? 0,
    stop: async () => {
      // A process that is gone already (it crashed) would never emit 'exit' again.
      if (child.exitCode !== null || child.signalCode !== null) {
        return;
      }
      stopping = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Node options for the NestJS floors (`BENCH_FLOOR_NODE_ARGS`), as BENCH_NODE_ARGS for Parley's
 * processes: `--cpu-prof --cpu-prof-dir=<dir>` profiles a floor beside Parley in the same run, for
 * `bench/profile-summary.ts --against` to tell what Parley's request costs beyond the framework's.
 */
const FLOOR_NODE_ARGS = (process.env.BENCH_FLOOR_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** A NestJS floor (bench/bare-nest.ts: the read's and the send's, by route) with `env`, once it is ready. */
export async function startNestFloor(env: Record<string, string>): Promise<Server> {
  return startServer(
    ['--import', 'tsx', ...FLOOR_NODE_ARGS, join(import.meta.dirname, 'bare-nest.ts')],
    env,
    await freePort(),
    '/ready',
  );
}
