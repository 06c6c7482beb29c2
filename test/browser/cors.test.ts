import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { http } from '../support/http.js';
import { tokenFor } from '../support/tokens.js';
import { launchChromium } from '../support/chromium.js';

/** A front-end of its own: an empty page served from another origin (another port). */
async function frontEnd(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>front-end</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('no address');
  }
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

describe('CORS: a front-end on another origin', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;
  let browser: Browser;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };

  beforeAll(async () => {
    allowed = await frontEnd();
    other = await frontEnd();
    dir = embeddedDataDir();
    app = await startApp({
      env: embeddedEnv(dir.path, {
        CORS_ORIGINS: `https://app.example.com,${allowed.origin}`,
        LOCAL_LLM_DELAY_MS: '30',
      }),
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll([app]);
    dir?.remove();
    allowed?.server.close();
    other?.server.close();
  });

  async function pageAt(origin: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(origin);
    return page;
  }

  it('answers a preflight from a listed origin with 204, the allowed methods and headers, and a max age', async () => {
    const preflight = await fetch(`${app.url}/v1/sessions/3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10/messages`, {
      method: 'OPTIONS',
      headers: {
        origin: allowed.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed.origin);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    for (const header of [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'If-None-Match',
      'Last-Event-ID',
      'X-Request-Id',
    ]) {
      expect(preflight.headers.get('access-control-allow-headers')).toContain(header);
    }
    expect(Number(preflight.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.headers.get('x-request-id')).toBeTruthy();

    const refused = await fetch(`${app.url}/v1/sessions`, {
      method: 'OPTIONS',
      headers: { origin: other.origin, 'access-control-request-method': 'POST' },
    });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const plain = await http('GET', `${app.url}/health/live`, { headers: { origin: other.origin } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets a page on a listed origin create a session, send, follow the reply with EventSource and a ticket, and read X-Request-Id and ETag', async () => {
    const token = await tokenFor('cors-user');
    const page = await pageAt(allowed.origin);
    const result = await page.evaluate(
      async ({ api, token }) => {
        const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
        const created = await fetch(`${api}/v1/sessions`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ title: 'cross-origin' }),
        });
        const session = (await created.json()) as { id: string };
        const issued = await fetch(`${api}/v1/sessions/${session.id}/events/tickets`, {
          method: 'POST',
          headers: { Authorization: headers.Authorization },
        });
        const { ticket } = (await issued.json()) as { ticket: string };
        // The browser's own EventSource: no headers, the ticket in the URL.
        const source = new EventSource(`${api}/v1/sessions/${session.id}/events?ticket=${encodeURIComponent(ticket)}`);
        const seen: string[] = [];
        let replyId = '';
        const completed = new Promise<string>((resolve, reject) => {
          source.addEventListener('reply.delta', (event) => {
            if (
              (JSON.parse((event as unknown as { data: string }).data) as { messageId: string }).messageId === replyId
            ) {
              seen.push('delta');
            }
          });
          source.addEventListener('reply.completed', (event) => {
            const { message } = JSON.parse((event as unknown as { data: string }).data) as {
              message: { id: string; content: string };
            };
            if (message.id === replyId) {
              seen.push('completed');
              resolve(message.content);
            }
          });
          setTimeout(() => reject(new Error(`no reply.completed; saw ${seen.join(',')}`)), 30_000);
        });
        await new Promise((resolve, reject) => {
          source.addEventListener('open', resolve, { once: true });
          source.addEventListener(
            'error',
            () => reject(new Error(`EventSource failed (ticket request ${issued.status})`)),
            { once: true },
          );
        });
        const sent = await fetch(`${api}/v1/sessions/${session.id}/messages`, {
          method: 'POST',
          headers: { ...headers, 'Idempotency-Key': crypto.randomUUID() },
          body: JSON.stringify({ content: 'hello across origins' }),
        });
        replyId = ((await sent.json()) as { reply: { id: string } }).reply.id;
        const content = await completed;
        source.close();
        const history = await fetch(`${api}/v1/sessions/${session.id}/messages`, { headers });
        const again = await fetch(`${api}/v1/sessions/${session.id}/messages`, {
          headers: { ...headers, 'If-None-Match': history.headers.get('ETag') ?? '' },
        });
        return {
          created: created.status,
          issued: issued.status,
          sent: sent.status,
          requestId: sent.headers.get('X-Request-Id'),
          etag: history.headers.get('ETag'),
          revalidated: again.status,
          items: ((await history.json()) as { items: unknown[] }).items.length,
          seen,
          content,
        };
      },
      { api: app.url, token },
    );
    expect(result).toMatchObject({ created: 201, issued: 201, sent: 202, revalidated: 304, items: 2 });
    expect(result.seen[0]).toBe('delta');
    expect(result.seen.at(-1)).toBe('completed');
    expect(result.seen.indexOf('completed')).toBe(result.seen.length - 1);
    expect(result.content.length).toBeGreaterThan(0);
    expect(result.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(result.etag).toBeTruthy();
    await page.close();
  });

  it('blocks a page on an origin that is not listed', async () => {
    const token = await tokenFor('cors-user');
    const page = await pageAt(other.origin);
    const outcome = await page.evaluate(
      async ({ api, token }) => {
        try {
          await fetch(`${api}/v1/sessions`, { headers: { Authorization: `Bearer ${token}` } });
          return 'read';
        } catch (error) {
          return (error as Error).name;
        }
      },
      { api: app.url, token },
    );
    expect(outcome).toBe('TypeError');
    await page.close();
  });
});
