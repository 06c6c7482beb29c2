import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { parleyNodeArgs } from '../support/cluster.js';
import { tokenFor } from '../support/tokens.js';

const LISTENING = /"port":(\d+)[^\n]*Parley listening/;

/**
 * Loaded with `--import`: holds the event loop for 1.5 s just before the server listens, as heavy
 * start-up work on a busy machine does (module initialisation, migrations, the OpenAPI document).
 */
const SLOW_START_MODULE = `
import http from 'node:http';
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    // start-up work
  }
  return listen.apply(this, args);
};
`;

/**
 * The first requests after start used to be shed as `overloaded`: start-up work (module
 * initialisation, migrations) was counted as event-loop delay of the first sample.
 */
describe('load shedding right after start', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'parley-slow-start-'));
    writeFileSync(join(dir, 'slow-start.mjs'), SLOW_START_MODULE);
  });

  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not shed the first requests after start as overloaded', async () => {
    const env = productionEnv(db, uniqueName('t'), {
      // The defaults, not the test suite's shedding-off values.
      SHED_SENDS_EVENT_LOOP_DELAY_MS: '200',
      SHED_READS_EVENT_LOOP_DELAY_MS: '1000',
      MAX_PENDING_REPLIES: '1000',
      NODE_OPTIONS: `--import=${join(dir, 'slow-start.mjs')}`,
    });
    const child = spawn(process.execPath, parleyNodeArgs(), {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = LISTENING.exec(output);
          if (match?.[1]) {
            resolve(Number(match[1]));
          }
        });
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
        });
        child.once('exit', () => reject(new Error(`app exited:\n${output}`)));
      });
      const url = `http://127.0.0.1:${port}`;
      const token = await tokenFor(uniqueName('user'));
      // At once, the moment it listens: sends (shed first) and reads.
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          http('POST', `${url}/v1/chat/send`, { token, body: { message: `hi ${i}` } }),
        ),
        ...Array.from({ length: 8 }, () => http('GET', `${url}/v1/sessions`, { token })),
      ]);
      const statuses = answers.map((answer) => answer.status);
      expect(
        statuses.filter((status) => status === 503),
        output,
      ).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
