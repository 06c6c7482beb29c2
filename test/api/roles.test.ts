import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const METRICS_TOKEN = 'roles-scrape-token';

describe('roles: api pods serve the API and consume no job, worker pods serve only probes and metrics', () => {
  // No process at first: each test starts the roles it needs.
  const fx = withCluster([], { METRICS_TOKEN });
  const start = (role: 'api' | 'worker'): Promise<AppProcess> => fx.start({ role });

  it('an api pod leaves replies in the queue until a worker pod takes them', async () => {
    const api = await start('api');
    const token = await tokenFor(uniqueName('user'));
    const session = await http('POST', `${api.url}/v1/sessions`, { token, body: {} });
    const sent = await http('POST', `${api.url}/v1/sessions/${session.body.id as string}/messages`, {
      token,
      body: { content: 'who answers?' },
    });
    expect(sent.status).toBe(202);
    const replyUrl = `${api.url}/v1/sessions/${session.body.id as string}/messages/${sent.body.reply.id as string}`;
    // The local responder runs in milliseconds: a consumer would have finished long before this.
    await sleep(2000);
    expect((await http('GET', replyUrl, { token })).body.status).toBe('pending');
    const scrape = await http('GET', `${api.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(valueOf(parseMetrics(scrape.text), 'parley_queue_jobs', { state: 'waiting' })).toBe(1);

    await start('worker');
    const reply = await eventually(async () => {
      const current = await http('GET', replyUrl, { token });
      return current.body.status === 'complete' ? current.body : undefined;
    });
    expect(reply.content).not.toBe('');
  });

  it('a worker pod answers 404 JSON outside /health/* and /metrics, and has no Swagger UI', async () => {
    const worker = fx.processes('worker')[0] as AppProcess;
    const token = await tokenFor(uniqueName('user'));
    for (const [method, path] of [
      ['GET', '/v1/sessions'],
      ['POST', '/v1/sessions'],
      ['POST', '/v1/chat/send'],
      ['PUT', '/v1/sessions'],
      ['GET', '/no-such-path'],
      ['GET', '/docs'],
      ['GET', '/docs-json'],
      ['GET', '/'],
    ] as const) {
      const response = await http(method, `${worker.url}${path}`, {
        token,
        body: method === 'POST' || method === 'PUT' ? {} : undefined,
      });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body, `${method} ${path}`).toMatchObject({
        statusCode: 404,
        code: 'not_found',
        requestId: expect.any(String),
      });
    }
    for (const path of ['/health/live', '/health/ready', '/health/startup']) {
      expect((await http('GET', `${worker.url}${path}`)).status, path).toBe(200);
    }
    const scrape = await http('GET', `${worker.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.status).toBe(200);
    const samples = parseMetrics(scrape.text);
    expect(valueOf(samples, 'parley_replies_total', { outcome: 'complete' })).toBe(1);
    // The 404s above are counted as unmatched or by their template; no API route series of its own otherwise.
    expect(samples.filter((s) => s.name === 'http_requests_total' && s.labels.status_class === '5xx')).toEqual([]);
    expect((await http('GET', `${worker.url}/metrics`)).status).toBe(401);
  });
});
