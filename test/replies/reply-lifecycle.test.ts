import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeAnswer } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const SYSTEM_PROMPT = 'You are the Parley test assistant.';

describe('reply lifecycle with an OpenAI-compatible provider (one process)', () => {
  const fx = withCluster(
    1,
    {
      LLM_MODEL: 'fake-model',
      LLM_SYSTEM_PROMPT: SYSTEM_PROMPT,
      LLM_MAX_TRIES: '3',
      LLM_RETRY_BASE_MS: '20',
      LLM_TIMEOUT_MS: '2000',
      LLM_PROMPT_TOKEN_BUDGET: '400',
      MAX_PENDING_REPLIES: '1',
      REPLY_WAIT_MS: '5000',
      SSE_HEARTBEAT_MS: '200',
    },
    { fakeOpenAi: true },
  );

  beforeEach(() => fx.fake.reset());

  const send = (token: string, body: unknown) => http('POST', `${fx.app.url}/v1/chat/send`, { token, body });

  it('chat/send creates a session, waits for the reply and answers 200 with it', async () => {
    const token = await tokenFor(uniqueName('alice'));
    const sent = await send(token, { message: 'how far is the moon' });
    expect(sent.status).toBe(200);
    expect(sent.body.requestId).toBe(sent.headers.get('x-request-id'));
    expect(sent.body.message).toMatchObject({ seq: 1, role: 'user', content: 'how far is the moon' });
    expect(sent.body.reply).toMatchObject({ seq: 2, status: 'complete', replyTo: sent.body.message.id });
    expect(sent.body.reply.content).toBe(fakeAnswer([{ role: 'user', content: 'how far is the moon' }]).join(''));
    const session = await http('GET', `${fx.app.url}/v1/sessions/${sent.body.sessionId}`, { token });
    expect(session.body).toMatchObject({ id: sent.body.sessionId, messageCount: 2 });

    const again = await send(token, { message: 'and the sun', sessionId: sent.body.sessionId });
    expect(again.status).toBe(200);
    expect(again.body.reply).toMatchObject({ seq: 4, status: 'complete' });
    expect(fx.fake.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'how far is the moon' },
      { role: 'assistant', content: sent.body.reply.content },
      { role: 'user', content: 'and the sun' },
    ]);
  });

  it('chat/send refuses another user’s session (403), an unknown one (404) and bad input (400)', async () => {
    const alice = await tokenFor(uniqueName('alice'));
    const mallory = await tokenFor(uniqueName('mallory'));
    const own = await send(alice, { message: 'mine' });
    expect((await send(mallory, { message: 'hi', sessionId: own.body.sessionId })).status).toBe(403);
    expect((await send(alice, { message: 'hi', sessionId: randomUUID() })).status).toBe(404);
    for (const body of [
      {},
      { message: '' },
      { message: ' ' },
      { message: 'x', sessionId: 'nope' },
      { message: 'x'.repeat(8001) },
    ]) {
      const response = await send(alice, body);
      expect(response.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('retries 429 and 5xx with backoff, counting attempts, then completes', async () => {
    const token = await tokenFor(uniqueName('bob'));
    fx.fake.plan.push({ kind: 'status', status: 429 }, { kind: 'status', status: 500 });
    const sent = await send(token, { message: 'try again' });
    expect(sent.status).toBe(200);
    expect(sent.body.reply.status).toBe('complete');
    expect(fx.fake.requests.map((r) => r.behaviour)).toEqual(['status', 'status', 'ok']);
    const [row] = await fx.db.query<{ attempt: number }>('SELECT attempt FROM messages WHERE id = $1', [
      sent.body.reply.id,
    ]);
    expect(row?.attempt).toBe(3);
  });

  it('restarts a reply whose stream was cut, telling SSE clients by a new attempt number', async () => {
    const token = await tokenFor(uniqueName('carol'));
    const first = await send(token, { message: 'warm up' });
    const sessionId = first.body.sessionId as string;
    const sse = await openSse(`${fx.app.url}/v1/sessions/${sessionId}/events`, token);
    fx.fake.plan.push({ kind: 'cut', afterTokens: 2 });
    const sent = await send(token, { message: 'one two three four', sessionId });
    expect(sent.status).toBe(200);
    const completed = await sse.waitFor((e) => e.event === 'reply.completed', 10_000, 'reply.completed');
    sse.close();
    const deltas = sse.events.filter((e) => e.event === 'reply.delta' && e.data.messageId === sent.body.reply.id);
    const attempts = [...new Set(deltas.map((e) => e.data.attempt))];
    expect(attempts).toEqual([1, 2]);
    const lastAttempt = deltas
      .filter((e) => e.data.attempt === 2)
      .map((e) => e.data.delta)
      .join('');
    expect(lastAttempt).toBe(completed.data.message.content);
    expect(completed.data.message.content).toBe(sent.body.reply.content);
    expect(sse.events.map((e) => e.event)).toContain('message.created');
  });

  it('fails at once on another 4xx, and after LLM_MAX_TRIES on lasting 5xx, with a readable error', async () => {
    const token = await tokenFor(uniqueName('dave'));
    fx.fake.plan.push({ kind: 'status', status: 400 });
    const rejected = await send(token, { message: 'bad request' });
    expect(rejected.status).toBe(200);
    expect(rejected.body.reply).toMatchObject({ status: 'failed', error: { code: 'upstream_rejected' } });
    expect(rejected.body.reply.error.message).toMatch(/refused/);
    expect(fx.fake.requests).toHaveLength(1);

    fx.fake.reset();
    fx.fake.fallback = { kind: 'status', status: 503 };
    const unavailable = await send(token, { message: 'down', sessionId: rejected.body.sessionId });
    expect(unavailable.body.reply).toMatchObject({ status: 'failed', error: { code: 'upstream_unavailable' } });
    expect(fx.fake.requests).toHaveLength(3);
    const history = await http('GET', `${fx.app.url}/v1/sessions/${rejected.body.sessionId}/messages`, { token });
    expect(history.body.items.map((m: any) => m.status)).toEqual(['complete', 'failed', 'complete', 'failed']);
  });

  it('puts the owner’s relevant memories into the prompt, and never another user’s', async () => {
    const owner = await tokenFor(uniqueName('gina'));
    const other = await tokenFor(uniqueName('hank'));
    expect(
      (
        await http('POST', `${fx.app.url}/v1/memories`, {
          token: owner,
          body: { content: 'Gina keeps bees in Lisbon' },
        })
      ).status,
    ).toBe(201);
    expect(
      (await http('POST', `${fx.app.url}/v1/memories`, { token: other, body: { content: 'Hank keeps bees in Oslo' } }))
        .status,
    ).toBe(201);
    fx.fake.reset();
    const sent = await send(owner, { message: 'what do you know about my bees?' });
    expect(sent.body.reply.status).toBe('complete');
    const prompt = JSON.stringify(fx.fake.requests.at(-1)?.body.messages ?? []);
    expect(prompt).toContain('Gina keeps bees in Lisbon');
    expect(prompt).not.toContain('Oslo');
  });

  it('keeps the prompt within LLM_PROMPT_TOKEN_BUDGET: system prompt, then the most recent messages', async () => {
    const token = await tokenFor(uniqueName('erin'));
    const long = (i: number) => `message ${i} ${'lorem ipsum '.repeat(40)}`;
    let sessionId: string | undefined;
    for (let i = 1; i <= 4; i += 1) {
      const sent = await send(token, { message: long(i), ...(sessionId ? { sessionId } : {}) });
      expect(sent.body.reply.status).toBe('complete');
      sessionId = sent.body.sessionId;
    }
    const last = fx.fake.requests.at(-1)?.body.messages ?? [];
    expect(last[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(last.at(-1)).toEqual({ role: 'user', content: long(4) });
    const estimate = last.reduce((sum, m) => sum + Math.ceil(m.content.length / 4) + 4, 0);
    expect(estimate).toBeLessThanOrEqual(400);
    expect(last.some((m) => m.content === long(1))).toBe(false);
  });

  it('answers 202 when the reply is still pending after REPLY_WAIT_MS, then 429 too_many_pending_replies on both routes without leaving a session behind', async () => {
    const user = uniqueName('frank');
    const token = await tokenFor(user);
    fx.fake.fallback = { kind: 'stall', ms: 8000 };
    const slow = await send(token, { message: 'take your time' });
    expect(slow.status).toBe(202);
    expect(['pending', 'streaming']).toContain(slow.body.reply.status);

    const refused = await send(token, { message: 'one more' });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('too_many_pending_replies');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    const viaMessages = await http('POST', `${fx.app.url}/v1/sessions/${slow.body.sessionId}/messages`, {
      token,
      body: { content: 'more' },
    });
    expect(viaMessages.status).toBe(429);
    expect(viaMessages.body.code).toBe('too_many_pending_replies');
    const metrics = parseMetrics((await http('GET', `${fx.app.url}/metrics`)).text);
    expect(valueOf(metrics, 'parley_throttled_requests_total', { limit: 'pending_replies' })).toBeGreaterThanOrEqual(2);
    const sessions = await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE owner_id = $1', [
      user,
    ]);
    expect(sessions[0]?.n).toBe(1);

    // Every try of the slow reply times out (LLM_TIMEOUT_MS): it fails, which frees the user's slot.
    await eventually(
      async () => {
        const reply = await http(
          'GET',
          `${fx.app.url}/v1/sessions/${slow.body.sessionId}/messages/${slow.body.reply.id}`,
          { token },
        );
        return reply.body.status === 'failed' ? reply.body : undefined;
      },
      20_000,
      'the slow reply to fail',
    ).then((reply) => expect(reply.error.code).toBe('upstream_timeout'));
    fx.fake.fallback = { kind: 'ok' };
    const accepted = await send(token, { message: 'now?', sessionId: slow.body.sessionId });
    expect(accepted.status).toBe(200);
  });

  it('serves SSE with heartbeats, refuses a malformed Last-Event-ID and another user’s session', async () => {
    const token = await tokenFor(uniqueName('gina'));
    const other = await tokenFor(uniqueName('hank'));
    const sent = await send(token, { message: 'hello' });
    const url = `${fx.app.url}/v1/sessions/${sent.body.sessionId}/events`;
    expect((await http('GET', url, { token: other })).status).toBe(403);
    expect((await http('GET', url, { token, headers: { 'last-event-id': 'garbage' } })).status).toBe(400);
    const sse = await openSse(url, token);
    expect(sse.status).toBe(200);
    await eventually(async () => (sse.comments.includes('heartbeat') ? true : undefined), 5000, 'a heartbeat');
    sse.close();
  });
});
