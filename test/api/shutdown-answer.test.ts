import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { lockWaiter, SessionRowHold } from '../support/row-lock.js';
import { openSocket, parseRawResponse, readUntilClosed, type RawResponse } from '../support/raw-http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/** Splits what the server wrote on one connection into its responses (each with Content-Length). */
function responses(data: string): RawResponse[] {
  const parsed: RawResponse[] = [];
  let rest = Buffer.from(data, 'utf8');
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    expect(headEnd).toBeGreaterThan(0);
    const head = rest.subarray(0, headEnd).toString('utf8');
    const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
    const end = headEnd + 4 + length;
    parsed.push(parseRawResponse(rest.subarray(0, end).toString('utf8')));
    rest = rest.subarray(end);
  }
  return parsed;
}

/** The server's listener is closed: a new connection is refused. */
async function listenerClosed(url: string): Promise<true | undefined> {
  try {
    const socket = await openSocket(url);
    socket.destroy();
    return undefined;
  } catch {
    return true;
  }
}

describe('a request that arrives while the server closes', () => {
  const origin = 'https://chat.example';
  const fx = withCluster(1, { SHUTDOWN_DRAIN_DELAY_MS: '0', CORS_ORIGINS: origin });

  it('is answered 503 shutting_down in Parley error body, while the request in flight before still completes', async () => {
    const { app, db } = fx;
    const token = await tokenFor(uniqueName('user'));
    const session = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const { host } = new URL(app.url);
    // Hold the session row, so that a send on this keep-alive connection is in flight (waiting on
    // the lock) all the while the server closes: the close stays pending until it is answered.
    const blocker = await SessionRowHold.take(db, session);
    try {
      const held = await openSocket(app.url);
      const heldReading = readUntilClosed(held, 30_000);
      const body = JSON.stringify({ content: 'in flight' });
      held.write(
        `POST /v1/sessions/${session}/messages HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await lockWaiter(db, 'the send to wait on the row lock');
      // A second keep-alive connection, its request begun but not finished: the close keeps it open.
      const late = await openSocket(app.url);
      const lateReading = readUntilClosed(late, 30_000);
      late.write(`GET /v1/sessions/${session} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\n`);

      app.child.kill('SIGTERM');
      // Closing: the listener is gone (new connections are refused) while the close waits for the send.
      await eventually(() => listenerClosed(app.url), 10_000, 'the listener to close');
      late.write(`Authorization: Bearer ${token}\r\n\r\n`);
      const lateAnswer = await lateReading;
      expect(lateAnswer.closed).toBe(true);
      const [refused, ...more] = responses(lateAnswer.data);
      expect(more).toEqual([]);
      expect(refused?.status).toBe(503);
      expect(refused?.json).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'shutting_down',
        message: expect.any(String),
      });
      expect(typeof refused?.json.requestId).toBe('string');
      expect(refused?.headers['x-request-id']).toBe(refused?.json.requestId);
      expect(refused?.headers['retry-after']).toBe('1');
      expect(refused?.headers.connection).toBe('close');
      expect(refused?.headers['x-content-type-options']).toBe('nosniff');
      expect(refused?.headers['content-type']).toMatch(/^application\/json/);
      // A browser's script can read why: CORS answers before the closing server does.
      expect(refused?.headers['access-control-allow-origin']).toBe(origin);
      expect(refused?.headers['access-control-expose-headers']).toContain('Retry-After');

      // The send that was in flight before the close still completes.
      await blocker.release();
      const heldAnswer = await heldReading;
      expect(heldAnswer.closed).toBe(true);
      const [sent, ...after] = responses(heldAnswer.data);
      expect(after).toEqual([]);
      expect(sent?.status).toBe(202);
      // Its connection closes after it, so that the close need not wait for the keep-alive timeout.
      expect(sent?.headers.connection).toBe('close');
      expect(await app.exited, app.output()).toBe(0);
    } finally {
      await blocker.close();
    }
  });
});
