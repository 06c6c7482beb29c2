import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parleyNodeArgs, startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { eventually, http } from '../support/http.js';
import { tokenFor } from '../support/tokens.js';

interface Launched {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly stdout: () => string;
  readonly exited: Promise<number | null>;
}

const LISTENING = /"port":(\d+)[^\n]*Parley listening/;

/** `node main.js` without waiting for anything: two of them can start at the same moment. */
function launch(env: Record<string, string>): Launched {
  const child = spawn(process.execPath, parleyNodeArgs(), {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function stop(process: Launched): Promise<void> {
  if (process.child.exitCode === null && process.child.signalCode === null) {
    process.child.kill('SIGTERM');
    await process.exited;
  }
}

/** The one line a refused second process prints, naming the folder and the process holding it. */
function expectRefused(stderr: string, dir: string, holderPid: number | undefined): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^Parley could not start: the data folder \S+ is in use by Parley process \d+ /);
  expect(lines[0]).toContain(dir);
  expect(lines[0]).toContain(`process ${holderPid} `);
}

async function historyOf(url: string, sessionId: string): Promise<unknown[]> {
  const token = await tokenFor('lock-user');
  return (await http('GET', `${url}/v1/sessions/${sessionId}/messages`, { token })).body.items as unknown[];
}

describe('embedded mode: one process per data folder', () => {
  let dir: EmbeddedDir;
  const started: Launched[] = [];
  const apps: AppProcess[] = [];

  beforeAll(() => {
    dir = embeddedDataDir();
  });

  afterAll(async () => {
    await Promise.all(started.map(stop));
    await stopAll(apps);
    dir?.remove();
  });

  it('of two processes started at the same moment, exactly one serves; the other exits with one line', async () => {
    const pair = [launch(embeddedEnv(dir.path)), launch(embeddedEnv(dir.path))];
    started.push(...pair);
    const loserIndex = await Promise.race(pair.map((p, index) => p.exited.then(() => index)));
    const loser = pair[loserIndex] as Launched;
    const winner = pair[1 - loserIndex] as Launched;
    expect(await loser.exited).not.toBe(0);
    expectRefused(loser.stderr(), dir.path, winner.child.pid);

    const port = await eventually(async () => LISTENING.exec(winner.stdout())?.[1], 90_000, 'the winner to listen');
    const url = `http://127.0.0.1:${port}`;
    await eventually(
      async () => ((await fetch(`${url}/health/ready`).catch(() => undefined))?.ok ? true : undefined),
      30_000,
      'ready',
    );
    expect(winner.child.exitCode).toBeNull();

    // The winner's data, written while a latecomer tries the same folder.
    const token = await tokenFor('lock-user');
    const session = (await http('POST', `${url}/v1/sessions`, { token, body: { title: 'kept' } })).body;
    const sent = await http('POST', `${url}/v1/sessions/${session.id as string}/messages`, {
      token,
      body: { content: 'one' },
    });
    expect(sent.status).toBe(202);
    await eventually(
      async () => {
        const reply = await http(
          'GET',
          `${url}/v1/sessions/${session.id as string}/messages/${sent.body.reply.id as string}`,
          { token },
        );
        return reply.body.status === 'complete' ? true : undefined;
      },
      30_000,
      'the reply',
    );
    const before = await historyOf(url, session.id as string);
    expect(before).toHaveLength(2);

    const late = launch(embeddedEnv(dir.path));
    started.push(late);
    expect(await late.exited).toBe(75);
    expectRefused(late.stderr(), dir.path, winner.child.pid);
    expect(late.stdout()).not.toMatch(/Parley listening|migration/i);

    // Both stopped; the folder's owner restarts with everything it wrote.
    await stop(winner);
    expect(existsSync(join(dir.path, 'parley.lock'))).toBe(false);
    const restarted = await startApp({ env: embeddedEnv(dir.path) });
    apps.push(restarted);
    expect(await historyOf(restarted.url, session.id as string)).toEqual(before);
  }, 240_000);

  it('a lock left by a killed process is taken over; a port in use fails in one line too', async () => {
    const holder = apps.pop() as AppProcess;
    const pid = holder.child.pid;
    expect(JSON.parse(readFileSync(join(dir.path, 'parley.lock'), 'utf8'))).toMatchObject({ pid });
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(existsSync(join(dir.path, 'parley.lock'))).toBe(true);

    const next = await startApp({ env: embeddedEnv(dir.path) });
    apps.push(next);
    expect(JSON.parse(readFileSync(join(dir.path, 'parley.lock'), 'utf8'))).toMatchObject({
      pid: next.child.pid,
    });

    const other = embeddedDataDir();
    try {
      const clash = launch(embeddedEnv(other.path, { PORT: new URL(next.url).port }));
      started.push(clash);
      expect(await clash.exited).toBe(1);
      const lines = clash.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Parley could not start: port \d+ is already in use on 127\.0\.0\.1 /);
      expect(clash.stderr()).not.toMatch(/^\s+at /m);
    } finally {
      other.remove();
    }
  }, 240_000);
});
