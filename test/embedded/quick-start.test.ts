import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parleyNodeArgs } from '../support/cluster.js';
import { eventually, httpHonouringOverload as http } from '../support/http.js';

const root = join(import.meta.dirname, '../..');
const BASE = 'http://127.0.0.1:3000';

/** A clean checkout: the project's files (no .data, no dist), sharing the installed node_modules. */
function cleanCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-clone-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      copyFileSync(join(root, file), join(dir, file));
    } catch {
      // a file deleted in the work tree but still in the index
    }
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** `npm start` with no Parley variable set: only what a shell needs. */
function npmStart(cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn('npm', ['start'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => process.kill(-(child.pid as number), 'SIGKILL'))]);
}

async function ready(output: () => string): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${BASE}/health/ready`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    120_000,
    `npm start to be ready:\n${output()}`,
  );
}

describe('the README quick start: `npm start` in a clean checkout', () => {
  let dir: string;
  let server: { child: ChildProcess; output: () => string } | undefined;

  beforeAll(() => {
    dir = cleanCopy();
  });

  afterAll(async () => {
    if (server) {
      await stop(server.child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the whole flow on PGlite, prints the banner, and keeps the history across a restart', async () => {
    server = npmStart(dir);
    await ready(server.output);
    expect(server.output()).toContain('embedded mode');
    expect(server.output()).toContain('http://localhost:3000/docs');
    expect(server.output()).toContain('Building dist/');

    // `npm run token` prints the token alone on stdout, so that TOKEN=$(npm run token -- alice) works.
    for (const args of [
      ['run', 'token', '--', 'alice'],
      ['run', '-s', 'token', '--', 'alice'],
    ]) {
      const printed = execFileSync('npm', args, {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(printed).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
      expect((await http('GET', `${BASE}/v1/sessions`, { token: printed.trim() })).status).toBe(200);
    }

    // A second `npm start` in the same folder neither rebuilds under the running server nor opens its data.
    const second = npmStart(dir);
    const code = await new Promise((resolve) => second.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(second.output()).not.toMatch(/Building|rebuilding/);
    expect(second.output()).toMatch(/^Parley could not start: the data folder \S+ is in use by Parley process \d+ /m);
    expect(second.output()).not.toMatch(/^\s+at /m);
    expect((await fetch(`${BASE}/health/ready`)).status).toBe(200);

    const token = (await http('POST', `${BASE}/v1/auth/dev-token`, { body: { userId: 'alice' } })).body.token as string;
    const session = await http('POST', `${BASE}/v1/sessions`, { token, body: { title: 'first steps' } });
    expect(session.status).toBe(201);
    const path = `${BASE}/v1/sessions/${session.body.id as string}/messages`;
    const sent = await http('POST', path, {
      token,
      body: { content: 'hello from the quick start' },
      headers: { 'idempotency-key': 'quick-start-first-send' },
    });
    expect(sent.status, `${JSON.stringify(sent.body)}\n${server.output()}`).toBe(202);
    await eventually(
      async () => {
        const reply = await http('GET', `${path}/${sent.body.reply.id as string}`, { token });
        return reply.body.status === 'complete' ? true : undefined;
      },
      30_000,
      'the reply',
    );
    const before = (await http('GET', path, { token })).body.items;
    expect(before).toHaveLength(2);

    await stop(server.child);
    server = npmStart(dir);
    await ready(server.output);
    expect(server.output()).not.toMatch(/Building|rebuilding/);
    const again = (await http('POST', `${BASE}/v1/auth/dev-token`, { body: { userId: 'alice' } })).body.token as string;
    const after = (await http('GET', path, { token: again })).body.items;
    expect(after).toEqual(before);
  }, 300_000);
});

describe('production refuses embedded mode', () => {
  const run = (env: Record<string, string>): { status: number | null; stderr: string } => {
    try {
      execFileSync(process.execPath, parleyNodeArgs(), {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: 'pipe',
        timeout: 30_000,
      });
      return { status: 0, stderr: '' };
    } catch (error) {
      const failure = error as { status: number | null; stderr: Buffer };
      return { status: failure.status, stderr: failure.stderr.toString() };
    }
  };

  it('exits non-zero naming REDIS_URL, then DATABASE_URL, in one line', () => {
    const noRedis = run({ NODE_ENV: 'production' });
    expect(noRedis.status).not.toBe(0);
    expect(noRedis.stderr.trim().split('\n')).toHaveLength(1);
    expect(noRedis.stderr).toMatch(/^Invalid configuration: REDIS_URL /);

    const noDatabase = run({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(noDatabase.status).not.toBe(0);
    expect(noDatabase.stderr).toMatch(/^Invalid configuration: DATABASE_URL /);
  });
});
