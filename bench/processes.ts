import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { niceOf } from './cpu-budget.js';

/**
 * `BENCH_NICE`: the nice value of every server the bench starts (bare, Nest and Parley alike) and
 * of pgbench (default 0, the bench's own). On a machine whose cores the servers share with the
 * databases they wake, a negative value keeps the server's event loop from being preempted by
 * every PostgreSQL backend or Redis it writes to (see the README's Benchmark section). Setting a
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

/** Starts a server process and waits until `readyPath` answers 200. Output is drained, kept for errors. */
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
  });
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
      if (nice !== SERVER_NICE) {
        child.kill('SIGKILL');
        throw new Error(`server runs at nice ${nice}, not BENCH_NICE=${SERVER_NICE}:\n${output}`);
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
