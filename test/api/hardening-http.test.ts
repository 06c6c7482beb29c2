import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { openSocket, parseRawResponse, rawRequest, readUntilClosed } from '../support/raw-http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const REQUEST_TIMEOUT_MS = 2000;
const UUID = /^[0-9a-f-]{36}$/;

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Parley's error body: the contract's fields, a request id equal to the X-Request-Id header. */
function expectErrorBody(status: number, headers: Headers | Record<string, string>, body: any, code?: string): void {
  const header = headers instanceof Headers ? headers.get('x-request-id') : headers['x-request-id'];
  expect(body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  expect(typeof body.requestId).toBe('string');
  expect(header).toBe(body.requestId);
  if (code !== undefined) {
    expect(body.code).toBe(code);
  }
}

describe('HTTP hardening: what reaches Parley before any route runs', () => {
  const fx = withCluster(1, { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  let token: string;

  beforeAll(async () => {
    token = await tokenFor(uniqueName('user'));
  });

  it('deeply nested JSON: 400 validation_failed on every JSON route, before validation, never a 500', async () => {
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
    const routes: Array<[string, string, string | undefined]> = [
      ['POST', '/v1/auth/dev-token', undefined],
      ['POST', '/v1/sessions', token],
      ['PATCH', `/v1/sessions/${session.body.id as string}`, token],
      ['POST', `/v1/sessions/${session.body.id as string}/messages`, token],
      ['POST', '/v1/chat/send', token],
      ['POST', '/v1/memories', token],
    ];
    for (const [method, path, bearer] of routes) {
      for (const body of [nested(10_000), `{"title":${nested(65)}}`]) {
        const response = await fetch(`${fx.app.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          body,
        });
        const json = await response.json();
        expect(response.status, `${method} ${path}`).toBe(400);
        expectErrorBody(400, response.headers, json, 'validation_failed');
      }
    }
    // 64 levels is allowed through to validation, which judges the content.
    const atLimit = await fetch(`${fx.app.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: `{"title":${nested(63)}}`,
    });
    expect(atLimit.status).toBe(400);
    expect(((await atLimit.json()) as { message: string }).message).toMatch(/title/);
    expect((await http('GET', `${fx.app.url}/health/live`)).status).toBe(200);
  });

  it('a slowly sent body: 50 at once all answered 408 in Parley’s error body, and the process stays healthy', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const socket = await openSocket(fx.app.url);
        const reading = readUntilClosed(socket, REQUEST_TIMEOUT_MS * 10);
        socket.write(
          `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `X-Request-Id: slow-${i}\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{`,
        );
        const drip = setInterval(() => socket.writable && socket.write(' '), 300);
        const { data, closed } = await reading;
        clearInterval(drip);
        socket.destroy();
        return { ...parseRawResponse(data), closed, i };
      }),
    );
    const elapsed = Date.now() - started;
    for (const answer of answers) {
      expect(answer.closed).toBe(true);
      expect(answer.status).toBe(408);
      expectErrorBody(408, answer.headers, answer.json, 'request_timeout');
      expect(answer.json.requestId).toBe(`slow-${answer.i}`);
    }
    // The bodies would have needed hours at this pace; every one was cut at its timeout.
    expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_MS * 5);
    expect((await http('GET', `${fx.app.url}/health/live`)).status).toBe(200);
    expect((await http('GET', `${fx.app.url}/v1/sessions`, { token })).status).toBe(200);
  });

  it('Fastify-level errors (414, bad URL, 431, broken HTTP) answer in Parley’s error body and never echo the input', async () => {
    const longParam = 'a'.repeat(10_000);
    const tooLong = await http('GET', `${fx.app.url}/v1/sessions/${longParam}`, { token });
    expect(tooLong.status).toBe(414);
    expectErrorBody(414, tooLong.headers, tooLong.body, 'uri_too_long');
    expect(tooLong.text).not.toContain('aaaaaaaaaa');

    const badUrl = await rawRequest(
      fx.app.url,
      'GET /v1/sessions/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(badUrl.status).toBe(400);
    expectErrorBody(400, badUrl.headers, badUrl.json, 'bad_url');
    expect(badUrl.body).not.toContain('%E0');

    const headerOverflow = await rawRequest(
      fx.app.url,
      `GET /v1/sessions HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    );
    expect(headerOverflow.status).toBe(431);
    expectErrorBody(431, headerOverflow.headers, headerOverflow.json, 'headers_too_large');
    expect(headerOverflow.json.requestId).toMatch(UUID);

    const notHttp = await rawRequest(fx.app.url, 'HELLO there\r\n\r\n');
    expect(notHttp.status).toBe(400);
    expectErrorBody(400, notHttp.headers, notHttp.json, 'bad_request');
    expect(notHttp.body).not.toContain('HELLO');
  });

  it('nosniff on every answer; Swagger UI with a content security policy and no framing', async () => {
    for (const path of ['/v1/sessions', '/health/live', '/v1/missing', '/docs-json']) {
      const response = await fetch(`${fx.app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const docs = await fetch(`${fx.app.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    expect(docs.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
    const api = await fetch(`${fx.app.url}/v1/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.headers.get('content-security-policy')).toBeNull();
  });

  it('a JSON body without a JSON content type: 415, not a confusing property list', async () => {
    for (const contentType of [undefined, 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const response = await fetch(`${fx.app.url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
        body: Buffer.from('{"title":"Lisbon"}'),
      });
      const json = await response.json();
      expect(response.status, contentType).toBe(415);
      expectErrorBody(415, response.headers, json, 'unsupported_media_type');
      expect(JSON.stringify(json)).not.toContain('Lisbon');
    }
  });

  it('wrong types give one message per property, not contradicting rules', async () => {
    const response = await http('GET', `${fx.app.url}/v1/sessions?limit=abc`, { token });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.body.message).toBe('limit must be an integer number');
  });

  it('query numbers are parsed strictly: 0x10, " 5", 1e1 and 5.0 are not integers', async () => {
    for (const limit of ['0x10', '%205', '1e1', '5.0', '']) {
      const response = await http('GET', `${fx.app.url}/v1/sessions?limit=${limit}`, { token });
      expect(response.status, limit).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await http('GET', `${fx.app.url}/v1/sessions?limit=5`, { token })).status).toBe(200);
  });

  it('NUL and lone surrogates in any text a client sends: 400 validation_failed, never a 500', async () => {
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
    const id = session.body.id as string;
    // JSON escapes, as a client sends them.
    const texts = ['a\\u0000b', 'x\\ud800y', '\\udc00'];
    for (const text of texts) {
      const attempts: Array<[string, string, string]> = [
        ['POST', '/v1/sessions', `{"title":"${text}"}`],
        ['PATCH', `/v1/sessions/${id}`, `{"title":"${text}"}`],
        ['POST', `/v1/sessions/${id}/messages`, `{"content":"${text}"}`],
        ['POST', `/v1/sessions/${id}/messages`, `{"content":"hello","clientMessageId":"${text}"}`],
        ['POST', '/v1/chat/send', `{"message":"${text}"}`],
        ['POST', '/v1/memories', `{"content":"${text}"}`],
        ['POST', '/v1/sessions', `{"${text}":"key"}`],
      ];
      for (const [method, path, body] of attempts) {
        const response = await fetch(`${fx.app.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        expect(response.status, `${method} ${path} ${body}`).toBe(400);
        expectErrorBody(400, response.headers, await response.json(), 'validation_failed');
      }
    }
    for (const query of ['q=a%00b', 'cursor=%00', 'limit=%00']) {
      const response = await http('GET', `${fx.app.url}/v1/memories?${query}`, { token });
      expect(response.status, query).toBe(400);
    }
    expect((await http('GET', `${fx.app.url}/v1/sessions/${id}`, { token })).status).toBe(200);
  });

  it('an unknown query parameter is ignored (cache-busting), an unknown body property is not', async () => {
    const listed = await http('GET', `${fx.app.url}/v1/sessions?_=${Date.now()}&utm_source=x`, { token });
    expect(listed.status).toBe(200);
    const created = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: 'x', colour: 'red' } });
    expect(created.status).toBe(400);
  });

  it('PATCH {"title": null} clears a title; a PATCH without title is 400', async () => {
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: 'Lisbon' } });
    const path = `${fx.app.url}/v1/sessions/${session.body.id as string}`;
    const cleared = await http('PATCH', path, { token, body: { title: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.title).toBeNull();
    expect((await http('GET', path, { token })).body.title).toBeNull();
    expect((await http('PATCH', path, { token, body: {} })).status).toBe(400);
    expect((await http('PATCH', path, { token, body: { title: 5 } })).status).toBe(400);
  });

  it('a burst of new connections while the process is too busy to accept them waits in its listen backlog, none dropped', async () => {
    // Above Node's default backlog (511): past the backlog the kernel drops a SYN, and its client
    // waits a second, then three, before it tries again.
    const burst = 800;
    expect(Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))).toBeGreaterThan(burst);
    let sockets: Socket[] = [];
    fx.app.child.kill('SIGSTOP');
    try {
      // Frozen, the process accepts nothing: only the kernel's listen queue holds the connections.
      const attempts = await Promise.all(Array.from({ length: burst }, () => connectWithin(fx.app.url, 3000)));
      sockets = attempts.filter((socket): socket is Socket => socket !== undefined);
      expect(sockets.length).toBe(burst);
    } finally {
      fx.app.child.kill('SIGCONT');
    }
    const answers = await Promise.all(
      sockets.map(async (socket) => {
        const reading = readUntilClosed(socket, 20_000);
        socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        return parseRawResponse((await reading).data).status;
      }),
    );
    expect(answers.filter((status) => status === 200).length).toBe(burst);
  });

  it('HTTP_LISTEN_SOCKETS: 16 sockets listen on the port, and connections through each of them are served', async () => {
    const port = Number(new URL(fx.app.url).port);
    expect(listeningSockets(port)).toBe(16);
    // The kernel spreads connections across the sockets by their addresses: 200 reach most of them.
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const socket = await openSocket(fx.app.url);
        const reading = readUntilClosed(socket, 10_000);
        socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        return parseRawResponse((await reading).data).status;
      }),
    );
    expect(statuses.filter((status) => status === 200).length).toBe(200);
  });

  it('a wrong method on a known path: 405 with Allow, not 404', async () => {
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
    const put = await http('PUT', `${fx.app.url}/v1/sessions/${session.body.id as string}`, { token, body: {} });
    expect(put.status).toBe(405);
    expectErrorBody(405, put.headers, put.body, 'method_not_allowed');
    expect(put.headers.get('allow')?.split(', ')).toEqual(expect.arrayContaining(['DELETE', 'GET', 'PATCH']));
    const deleteAll = await http('DELETE', `${fx.app.url}/v1/sessions`, { token });
    expect(deleteAll.status).toBe(405);
    expect(deleteAll.headers.get('allow')).toContain('POST');
    const unknown = await http('GET', `${fx.app.url}/v1/nothing-here/${'x'.repeat(50)}`, { token });
    expect(unknown.status).toBe(404);
    expect(unknown.text).not.toContain('nothing-here');
  });
});

describe('HTTP_MAX_CONNECTIONS', () => {
  const MAX = 12;
  const fx = withCluster(1, { HTTP_MAX_CONNECTIONS: String(MAX) });

  it('refuses connections past the cap at accept, and serves again once they close', async () => {
    const held = await Promise.all(Array.from({ length: MAX }, () => openSocket(fx.app.url)));
    // Give the server time to accept all of them before the one past the cap arrives.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const extra = await openSocket(fx.app.url);
    const reading = readUntilClosed(extra, 10_000);
    extra.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    const { data, closed } = await reading;
    expect(closed).toBe(true);
    expect(data).toBe('');
    for (const socket of held) {
      socket.destroy();
    }
    const live = await eventually(async () => {
      const response = await fetch(`${fx.app.url}/health/live`).catch(() => undefined);
      return response?.status === 200 ? response : undefined;
    });
    expect(live.status).toBe(200);
  });
});

/** A connection to `url` once its handshake completes, or undefined (and abandoned) after `timeoutMs`. */
function connectWithin(url: string, timeoutMs: number): Promise<Socket | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/** Sockets listening on `port` (IPv4), as the kernel lists them. */
function listeningSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(([, local, , state]) => local?.endsWith(`:${hexPort}`) === true && state === '0A').length;
}
