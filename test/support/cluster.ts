import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { imageNodeFlags } from './deployment.js';

export interface AppProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** The last lines the process printed (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  env: Record<string, string>;
  readyPath?: string;
  timeoutMs?: number;
  /** Called once the process is spawned, before it listens: to watch a process that waits at start. */
  onSpawn?: (process: Pick<AppProcess, 'child' | 'output' | 'exited'>) => void;
}

const LISTENING = /"port":(\d+)[^\n]*Parley listening/;
const children = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of children) {
    child.kill('SIGKILL');
  }
});

/**
 * The arguments of `node` for one Parley process: the Node flags the image starts it with
 * (docker/Dockerfile's CMD), then the built main.js. Tests run Parley as the image does.
 */
export function parleyNodeArgs(): string[] {
  return [...imageNodeFlags(), inject('mainPath')];
}

/** Starts one app process (`node main.js`) on a free port and waits until it is ready. */
export async function startApp(options: StartOptions): Promise<AppProcess> {
  const child = spawn(process.execPath, parleyNodeArgs(), {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  let port: number | undefined;
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') {
        continue;
      }
      lines.push(line);
      if (lines.length > 200) {
        lines.shift();
      }
      const match = LISTENING.exec(line);
      if (match?.[1]) {
        port = Number(match[1]);
      }
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  options.onSpawn?.({ child, output: () => lines.join('\n'), exited });
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (port === undefined) {
    if (done || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app process did not start:\n${lines.join('\n')}`);
    }
    await sleep(50);
  }
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = { url, child, output: () => lines.join('\n'), exited };
  await waitUntilReady(app, options.readyPath ?? '/health/ready', deadline);
  return app;
}

async function waitUntilReady(app: AppProcess, path: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`${app.url}${path}`);
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      app.child.kill('SIGKILL');
      throw new Error(`app at ${app.url} never became ready:\n${app.output()}`);
    }
    await sleep(100);
  }
}

export interface Cluster {
  readonly apps: AppProcess[];
  readonly urls: string[];
  /** Round-robin over the processes. */
  url(index: number): string;
  stop(): Promise<void>;
}

/** Starts `count` app processes against one database and Redis (the same env for all). */
export async function startCluster(count: number, env: Record<string, string>): Promise<Cluster> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startApp({ env })));
  const apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stopAll(apps);
    throw failure.reason;
  }
  return {
    apps,
    urls: apps.map((app) => app.url),
    url: (index) => (apps[index % apps.length] as AppProcess).url,
    stop: () => stopAll(apps),
  };
}

/** SIGTERM, then SIGKILL for whatever has not exited within the grace period. */
export async function stopAll(apps: readonly AppProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    apps.map(async (app) => {
      if (app.child.exitCode !== null || app.child.signalCode !== null) {
        return;
      }
      app.child.kill('SIGTERM');
      const timer = setTimeout(() => app.child.kill('SIGKILL'), graceMs);
      await app.exited;
      clearTimeout(timer);
    }),
  );
}
