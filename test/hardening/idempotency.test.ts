import { describe, expect, it } from 'vitest';
import { newSession } from '../support/api.js';
import { http, type HttpResult } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const SENDS = 30;

function remaining(result: HttpResult): number {
  return Number(result.headers.get('x-ratelimit-remaining'));
}

/**
 * The send limit could be bypassed through POST /v1/chat/send: the throttler took a known
 * Idempotency-Key for a retry and charged nothing, while chat/send ignored the key and stored a new
 * send each time. Both send routes now honour the key: the same body answers the original, another
 * body is 422 idempotency_key_reused, on any replica.
 */
describe('idempotency keys on both send routes, across replicas; session writes and refusals on the sends limit', () => {
  const fx = withCluster(2, {
    RATE_LIMIT_SENDS: String(SENDS),
    MAX_PENDING_REPLIES: '1',
    // Replies stay pending for a while: the pending-replies cap is reached with one send.
    LOCAL_LLM_DELAY_MS: '500',
    REPLY_WAIT_MS: '0',
  });

  async function messagesIn(sessionId: string): Promise<number> {
    const rows = await fx.db.query<{ count: string }>('SELECT count(*) FROM messages WHERE session_id = $1', [
      sessionId,
    ]);
    return Number(rows[0]?.count);
  }

  it('send limit bypass through POST /v1/chat/send: a reused Idempotency-Key with new messages is 422, stores nothing and costs nothing', async () => {
    const token = await tokenFor(uniqueName('bypass'));
    const sessionId = await newSession(fx.cluster.url(0), { token });
    const first = await http('POST', `${fx.cluster.url(0)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'the original', clientMessageId: 'K1' },
    });
    expect(first.status).toBe(202);
    const left = remaining(first);

    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/chat/send`, {
          token,
          body: { message: `new message ${i}`, sessionId },
          headers: { 'idempotency-key': 'K1' },
        }),
      ),
    );
    for (const attempt of attempts) {
      expect(attempt.status).toBe(422);
      expect(attempt.body).toMatchObject({ code: 'idempotency_key_reused', requestId: expect.any(String) });
      expect(remaining(attempt)).toBe(left);
    }
    expect(await messagesIn(sessionId)).toBe(2);

    // The same body on chat/send is the original send, not a new one.
    const same = await http('POST', `${fx.cluster.url(1)}/v1/chat/send`, {
      token,
      body: { message: 'the original', sessionId },
      headers: { 'idempotency-key': 'K1' },
    });
    expect([200, 202]).toContain(same.status);
    expect(same.body.message.id).toBe(first.body.message.id);
    expect(same.body.reply.id).toBe(first.body.reply.id);
    expect(await messagesIn(sessionId)).toBe(2);
  });

  it('the same key with a different body is 422 idempotency_key_reused on the messages route, by body field or header, on either replica', async () => {
    const token = await tokenFor(uniqueName('reuse'));
    const sessionId = await newSession(fx.cluster.url(0), { token });
    const url = (i: number): string => `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`;
    const first = await http('POST', url(0), { token, body: { content: 'hello', clientMessageId: 'k-1' } });
    expect(first.status).toBe(202);

    const repeat = await http('POST', url(1), {
      token,
      body: { content: 'hello' },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(repeat.status).toBe(200);
    expect(repeat.body.message.id).toBe(first.body.message.id);

    for (const [i, request] of [
      { body: { content: 'hello, edited', clientMessageId: 'k-1' } },
      { body: { content: 'hello, edited' }, headers: { 'idempotency-key': 'k-1' } },
    ].entries()) {
      const reused = await http('POST', url(i), { token, ...request });
      expect(reused.status).toBe(422);
      expect(reused.body).toMatchObject({
        code: 'idempotency_key_reused',
        requestId: reused.headers.get('x-request-id'),
      });
    }
    expect(await messagesIn(sessionId)).toBe(2);
  });

  it('POST /v1/chat/send without a session: the key names one session; concurrent repeats over both replicas are one send', async () => {
    const ownerId = uniqueName('chat');
    const token = await tokenFor(ownerId);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/chat/send`, {
          token,
          body: { message: 'start a conversation' },
          headers: { 'idempotency-key': 'new-chat-1' },
        }),
      ),
    );
    for (const result of results) {
      expect([200, 202]).toContain(result.status);
    }
    expect(new Set(results.map((r) => r.body.sessionId as string)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.message.id as string)).size).toBe(1);
    const sessions = await fx.db.query<{ count: string }>('SELECT count(*) FROM sessions WHERE owner_id = $1', [
      ownerId,
    ]);
    expect(Number(sessions[0]?.count)).toBe(1);

    const reused = await http('POST', `${fx.cluster.url(0)}/v1/chat/send`, {
      token,
      body: { message: 'something else' },
      headers: { 'idempotency-key': 'new-chat-1' },
    });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');

    // Another user's same key is another session; the first session stays theirs alone.
    const other = await tokenFor(uniqueName('other'));
    const theirs = await http('POST', `${fx.cluster.url(1)}/v1/chat/send`, {
      token: other,
      body: { message: 'start a conversation' },
      headers: { 'idempotency-key': 'new-chat-1' },
    });
    expect([200, 202]).toContain(theirs.status);
    expect(theirs.body.sessionId).not.toBe(results[0]?.body.sessionId);
  });

  it('session create, rename and delete count as sends; an Idempotency-Key does not make them free', async () => {
    const token = await tokenFor(uniqueName('writer'));
    const created = await http('POST', `${fx.cluster.url(0)}/v1/sessions`, { token, body: {} });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-ratelimit-limit')).toBe(String(SENDS));
    expect(remaining(created)).toBe(SENDS - 1);
    const sessionId = created.body.id as string;
    const sent = await http('POST', `${fx.cluster.url(1)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'x', clientMessageId: 'known-key' },
    });
    expect(remaining(sent)).toBe(SENDS - 2);
    const renamed = await http('PATCH', `${fx.cluster.url(0)}/v1/sessions/${sessionId}`, {
      token,
      body: { title: 'renamed' },
      headers: { 'idempotency-key': 'known-key' },
    });
    expect(renamed.status).toBe(200);
    expect(remaining(renamed)).toBe(SENDS - 3);
    const deleted = await http('DELETE', `${fx.cluster.url(1)}/v1/sessions/${sessionId}`, {
      token,
      headers: { 'idempotency-key': 'known-key' },
    });
    expect(deleted.status).toBe(204);
    expect(remaining(deleted)).toBe(SENDS - 4);
    const read = await http('GET', `${fx.cluster.url(0)}/v1/sessions`, { token });
    expect(read.headers.get('x-ratelimit-limit')).not.toBe(String(SENDS));
  });

  it('sends refused with too_many_pending_replies do not consume the send quota', async () => {
    const token = await tokenFor(uniqueName('pending'));
    const sessionId = await newSession(fx.cluster.url(0), { token });
    // 24 words: its reply streams about 28 tokens, 14 s at 500 ms each, and stays pending meanwhile.
    const long = Array.from({ length: 24 }, (_, i) => `word${i}`).join(' ');
    const first = await http('POST', `${fx.cluster.url(0)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: long },
    });
    expect(first.status).toBe(202);
    const left = remaining(first);
    // One after another: each refusal has given its hit back before the next is counted.
    const refused: HttpResult[] = [];
    for (let i = 0; i < 2 * SENDS; i += 1) {
      refused.push(
        await (i % 2 === 0
          ? http('POST', `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
              token,
              body: { content: `more ${i}` },
            })
          : http('POST', `${fx.cluster.url(i)}/v1/chat/send`, { token, body: { message: `more ${i}`, sessionId } })),
      );
    }
    for (const result of refused) {
      expect(remaining(result)).toBe(left);
      expect(result.status).toBe(429);
      expect(result.body.code).toBe('too_many_pending_replies');
    }
    // Nothing was spent: the next counted request sees the quota the first send left.
    const read = await http('PATCH', `${fx.cluster.url(1)}/v1/sessions/${sessionId}`, { token, body: { title: 't' } });
    expect(read.status).toBe(200);
    expect(remaining(read)).toBe(left - 1);
  });
});
