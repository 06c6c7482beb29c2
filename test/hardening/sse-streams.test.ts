import { afterAll, describe, expect, it } from 'vitest';
import { newSession } from '../support/api.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { openSse, type SseClient } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const MAX = 10;

/**
 * No cap on SSE streams (200 of 200 accepted for one user), and open streams outlived the token's
 * `exp` and the deletion of their session. Also here: `Last-Event-ID: 0-0` answered events.missed
 * although nothing was trimmed, and If-None-Match with the strong form of a weak ETag answered 200.
 */
describe('event streams: a cap per user over replicas, ended at token expiry and session deletion', () => {
  const fx = withCluster(2, { SSE_MAX_STREAMS_PER_USER: String(MAX) });
  const opened: SseClient[] = [];

  // Registered after withCluster: runs before the processes stop.
  afterAll(() => {
    for (const stream of opened) {
      stream.close();
    }
  });

  async function open(
    i: number,
    sessionId: string,
    token: string,
    headers: Record<string, string> = {},
  ): Promise<SseClient> {
    const stream = await openSse(`${fx.cluster.url(i)}/v1/sessions/${sessionId}/events`, token, headers);
    opened.push(stream);
    return stream;
  }

  it(`no cap on SSE streams: ${MAX + 1} streams of one user over two replicas, the ${MAX + 1}th is 429 too_many_streams`, async () => {
    const token = await tokenFor(uniqueName('watcher'));
    const sessions = [await newSession(fx.cluster.url(0), { token }), await newSession(fx.cluster.url(0), { token })];
    const streams = await Promise.all(Array.from({ length: MAX }, (_, i) => open(i, sessions[i % 2] as string, token)));
    expect(streams.map((s) => s.status)).toEqual(Array.from({ length: MAX }, () => 200));
    for (const i of [0, 1]) {
      const refused = await fetch(`${fx.cluster.url(i)}/v1/sessions/${sessions[i] as string}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await refused.json()).toMatchObject({ code: 'too_many_streams', requestId: expect.any(String) });
    }
    // Another user is not affected; a closed stream gives its slot back.
    const other = await tokenFor(uniqueName('other'));
    expect((await open(1, await newSession(fx.cluster.url(0), { token: other }), other)).status).toBe(200);
    streams[0]?.close();
    const again = await eventually(
      async () => {
        const stream = await open(1, sessions[1] as string, token);
        if (stream.status === 200) {
          return stream;
        }
        stream.close();
        return undefined;
      },
      10_000,
      'a freed slot',
    );
    expect(again.status).toBe(200);
    for (const stream of streams) {
      stream.close();
    }
    again.close();
  });

  it("a deleted session's open streams end, on every replica", async () => {
    const token = await tokenFor(uniqueName('deleter'));
    const sessionId = await newSession(fx.cluster.url(0), { token });
    const streams = [await open(0, sessionId, token), await open(1, sessionId, token)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    expect((await http('DELETE', `${fx.cluster.url(0)}/v1/sessions/${sessionId}`, { token })).status).toBe(204);
    for (const stream of streams) {
      await stream.waitFor((e) => e.event === 'session.deleted', 10_000, 'session.deleted');
      await expect(
        Promise.race([stream.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 5000))]),
      ).resolves.toBe('ended');
    }
    expect((await open(1, sessionId, token)).status).toBe(404);
  });

  it("an open stream ends when its token's exp passes", async () => {
    const userId = uniqueName('expiring');
    const long = await tokenFor(userId);
    const sessionId = await newSession(fx.cluster.url(0), { token: long });
    const short = await tokenFor(userId, { ttlSeconds: 3 });
    const streams = [await open(0, sessionId, short), await open(1, sessionId, short), await open(0, sessionId, long)];
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    for (const stream of streams.slice(0, 2)) {
      await expect(
        Promise.race([stream.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 10_000))]),
      ).resolves.toBe('ended');
    }
    // The stream of a token still valid stays open.
    await expect(
      Promise.race([streams[2]?.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 500))]),
    ).resolves.toBe('open');
    streams[2]?.close();
  });

  it('Last-Event-ID: 0-0 is not answered with events.missed when nothing was trimmed', async () => {
    const token = await tokenFor(uniqueName('resumer'));
    const empty = await newSession(fx.cluster.url(0), { token });
    const onEmpty = await open(0, empty, token, { 'last-event-id': '0-0' });
    const sent = await http('POST', `${fx.cluster.url(1)}/v1/sessions/${empty}/messages`, {
      token,
      body: { content: 'hello' },
    });
    expect(sent.status).toBe(202);
    await onEmpty.waitFor((e) => e.event === 'reply.completed', 20_000, 'reply.completed');
    onEmpty.close();
    expect(onEmpty.events[0]?.event).toBe('message.created');

    for (const i of [0, 1]) {
      const fromStart = await open(i, empty, token, { 'last-event-id': '0-0' });
      await fromStart.waitFor((e) => e.event === 'reply.completed', 10_000, 'the retained events');
      fromStart.close();
      expect(fromStart.events.map((e) => e.event)).not.toContain('events.missed');
      expect(fromStart.events[0]?.event).toBe('message.created');
    }
  });

  it('If-None-Match with the strong form of the weak ETag answers 304 (weak comparison)', async () => {
    const token = await tokenFor(uniqueName('etag'));
    const sessionId = await newSession(fx.cluster.url(0), { token });
    const url = `${fx.cluster.url(0)}/v1/sessions/${sessionId}/messages`;
    const first = await http('GET', url, { token });
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^W\/".+"$/);
    for (const header of [etag, etag.slice(2), `"nope", ${etag.slice(2)}`]) {
      const again = await http('GET', `${fx.cluster.url(1)}/v1/sessions/${sessionId}/messages`, {
        token,
        headers: { 'if-none-match': header },
      });
      expect(again.status, header).toBe(304);
    }
    expect((await http('GET', url, { token, headers: { 'if-none-match': 'W/"nope"' } })).status).toBe(200);
  });
});
