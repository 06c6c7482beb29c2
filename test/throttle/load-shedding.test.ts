import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, type HttpResult } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * Loaded into the app process with `--import`: SIGUSR2 toggles a busy loop that holds the event
 * loop 600 ms out of every 620 ms, the way a CPU-bound request or a long GC would. The app's own
 * code is not changed, and no route of it exists for the test.
 */
const STALL_MODULE = `
let timer;
process.on('SIGUSR2', () => {
  if (timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
    return;
  }
  timer = setInterval(() => {
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // holding the event loop
    }
  }, 20);
});
`;

describe('load shedding under an event-loop stall', () => {
  let dir: string;
  let token: string;
  let sessionId: string;

  // Registered before withCluster: the stall module is written before the process starts and removed after it stops.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-stall-'));
    writeFileSync(join(dir, 'stall.mjs'), STALL_MODULE);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const fx = withCluster(1, () => ({
    NODE_OPTIONS: `--import=${join(dir, 'stall.mjs')}`,
    // Sends give way at a mean delay of 100 ms (the stall makes it about 200 ms, or unmeasurable);
    // reads only far beyond that.
    SHED_SENDS_EVENT_LOOP_DELAY_MS: '100',
    SHED_READS_EVENT_LOOP_DELAY_MS: '600000',
    MAX_PENDING_REPLIES: '10000',
  }));

  beforeAll(async () => {
    token = await tokenFor(uniqueName('user'));
    sessionId = (await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} })).body.id as string;
  });

  const send = (): Promise<HttpResult> =>
    http('POST', `${fx.app.url}/v1/sessions/${sessionId}/messages`, { token, body: { content: 'hello' } });

  it('accepts sends while the loop is free', async () => {
    expect((await send()).status).toBe(202);
    expect((await http('GET', `${fx.app.url}/health/ready`)).status).toBe(200);
  });

  it('sheds sends with 503 overloaded and Retry-After while liveness, metrics and reads keep answering', async () => {
    fx.app.child.kill('SIGUSR2');
    const shed = await eventually(
      async () => {
        const result = await send();
        expect([202, 503]).toContain(result.status);
        return result.status === 503 ? result : undefined;
      },
      20_000,
      'a send to be shed',
    );
    expect(shed.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', code: 'overloaded' });
    expect(shed.body.requestId).toBe(shed.headers.get('x-request-id'));
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const live = await http('GET', `${fx.app.url}/health/live`);
    expect(live.status).toBe(200);
    expect((await http('GET', `${fx.app.url}/v1/sessions/${sessionId}/messages`, { token })).status).toBe(200);

    // Overload is answered per request; readiness reports it without pulling the pod out.
    const ready = await eventually(
      async () => {
        const result = await http('GET', `${fx.app.url}/health/ready`);
        expect(result.status).toBe(200);
        return result.body.details.load?.status === 'degraded' ? result : undefined;
      },
      10_000,
      'readiness to report the overload',
    );
    expect(ready.body.details.load).toMatchObject({
      status: 'degraded',
      message: 'overloaded',
      reason: 'event_loop',
    });

    const metrics = await http('GET', `${fx.app.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(
      valueOf(parseMetrics(metrics.text), 'parley_shed_requests_total', { reason: 'event_loop' }),
    ).toBeGreaterThanOrEqual(1);

    // Logged as a refusal with its reason, not as a server error.
    const line = await eventually(async () =>
      fx.app
        .output()
        .split('\n')
        .find((l) => l.includes(`"requestId":"${shed.body.requestId as string}"`) && l.includes('request answered')),
    );
    expect(JSON.parse(line)).toMatchObject({
      level: 'warn',
      statusCode: 503,
      code: 'overloaded',
      reason: 'event_loop',
    });
  });

  it('accepts sends again once the stall is over', async () => {
    fx.app.child.kill('SIGUSR2');
    await eventually(
      async () => ((await send()).status === 202 ? true : undefined),
      20_000,
      'sends to be accepted again',
    );
    await eventually(
      async () => ((await http('GET', `${fx.app.url}/health/ready`)).status === 200 ? true : undefined),
      10_000,
      'ready again',
    );
  });
});
