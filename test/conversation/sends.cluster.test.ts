import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSession } from '../support/api.js';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { eventually, http, type HttpResult } from '../support/http.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { openSse, supersededReplyIds } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { fakeProviderEnv } from './conversation.suite.js';

const SENDS = 6;
/** Long enough for a test's requests to land in one window. */
const WINDOW_MS = 20_000;

function statuses(results: HttpResult[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const result of results) {
    counts[result.status] = (counts[result.status] ?? 0) + 1;
  }
  return counts;
}

describe('sends across 2 api + 1 worker processes (regenerate quota, coalescing)', () => {
  let db: TestDatabase;
  let fake: FakeOpenAi;
  let apis: AppProcess[] = [];
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await FakeOpenAi.start();
    const env = productionEnv(db, uniqueName('sends'), {
      ...fakeProviderEnv(fake),
      RATE_LIMIT_SENDS: String(SENDS),
      RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      MAX_PENDING_REPLIES: '100',
      COALESCE_WINDOW_MS: '1500',
    });
    const started = await Promise.all([
      startApp({ env: { ...env, APP_ROLE: 'api' } }),
      startApp({ env: { ...env, APP_ROLE: 'api' } }),
      startApp({ env: { ...env, APP_ROLE: 'worker' } }),
    ]);
    apis = started.slice(0, 2);
    worker = started[2];
  });

  afterAll(async () => {
    await stopAll([...apis, ...(worker ? [worker] : [])]);
    await fake?.stop();
    await db?.drop();
  });

  const url = (i: number): string => (apis[i % 2] as AppProcess).url;

  /** A session made in the database: creating one through the API would cost a send. */
  const newSession = (token: string, replyMode: 'each' | 'coalesce' = 'each'): Promise<string> =>
    insertSession(db, token, replyMode);

  async function settled(token: string, sessionId: string, replyId: string): Promise<Record<string, any>> {
    return eventually(
      async () => {
        const reply = await http('GET', `${url(0)}/v1/sessions/${sessionId}/messages/${replyId}`, { token });
        return ['complete', 'failed', 'stopped', 'superseded'].includes(reply.body.status as string)
          ? reply.body
          : undefined;
      },
      20_000,
      `reply ${replyId} finished`,
    );
  }

  it('regenerates spend the sends quota shared by both api processes: past it, 429 rate_limited with Retry-After, and no reply is stored', async () => {
    fake.reset();
    const token = await tokenFor(uniqueName('regen'));
    const sessionId = await newSession(token);
    const sent = await http('POST', `${url(0)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'regenerate me' },
    });
    expect(sent.status, sent.text).toBe(202);
    expect(sent.headers.get('x-ratelimit-remaining')).toBe(String(SENDS - 1));
    const replyId = sent.body.reply.id as string;
    expect((await settled(token, sessionId, replyId)).status).toBe('complete');

    // Nine concurrent regenerates of the finished reply, over both api processes: five fit the quota left.
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        http('POST', `${url(i)}/v1/sessions/${sessionId}/messages/${replyId}/regenerate`, { token }),
      ),
    );
    expect(statuses(results)).toEqual({ 202: SENDS - 1, 429: 9 - (SENDS - 1) });
    const accepted = results.filter((r) => r.status === 202);
    expect(accepted.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4,
    ]);
    for (const refused of results.filter((r) => r.status === 429)) {
      expect(refused.body).toMatchObject({ statusCode: 429, code: 'rate_limited', requestId: expect.any(String) });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW_MS / 1000);
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    // A plain send is refused too: regenerates and sends share one quota.
    const next = await http('POST', `${url(1)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'one more' },
    });
    expect(next.status).toBe(429);
    expect(next.body.code).toBe('rate_limited');
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Only the accepted regenerates stored a reply: the original and five siblings.
    const rows = await db.query<{ id: string }>('SELECT id FROM messages WHERE session_id = $1 AND parent_id = $2', [
      sessionId,
      sent.body.message.id,
    ]);
    expect(rows.map((r) => r.id).sort()).toEqual([replyId, ...accepted.map((r) => r.body.reply.id as string)].sort());
    for (const result of accepted) {
      expect((await settled(token, sessionId, result.body.reply.id as string)).status).toBe('complete');
    }
    expect(fake.requests).toHaveLength(SENDS);
  });

  it('coalesce: 5 sends in ~300 ms over both api processes get one model call whose prompt holds all 5; 4 replies are superseded', async () => {
    fake.reset();
    const token = await tokenFor(uniqueName('burst'));
    const sessionId = await newSession(token, 'coalesce');
    const sse = await openSse(`${url(1)}/v1/sessions/${sessionId}/events`, token);
    const contents = [1, 2, 3, 4, 5].map((i) => `burst part ${i}`);
    const sent = await Promise.all(
      contents.map(async (content, i) => {
        await sleep(i * 70);
        return http('POST', `${url(i)}/v1/sessions/${sessionId}/messages`, { token, body: { content } });
      }),
    );
    expect(sent.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const bySeq = sent.map((r) => r.body).sort((x, y) => x.message.seq - y.message.seq);
    const last = bySeq.at(-1);
    expect((await settled(token, sessionId, last.reply.id as string)).status).toBe('complete');
    await sse.waitFor(
      (e) => e.event === 'reply.completed' && e.data.message.id === last.reply.id,
      10_000,
      'reply.completed',
    );
    for (const earlier of bySeq.slice(0, -1)) {
      const reply = await http('GET', `${url(0)}/v1/sessions/${sessionId}/messages/${earlier.reply.id}`, { token });
      expect(reply.body.status).toBe('superseded');
    }
    // Past the coalescing window again: no superseded reply is answered later.
    await sleep(2000);
    sse.close();
    expect(supersededReplyIds(sse.events)).toEqual(
      bySeq
        .slice(0, -1)
        .map((b) => b.reply.id)
        .sort(),
    );
    expect(sse.events.filter((e) => e.event === 'reply.completed').map((e) => e.data.message.id)).toEqual([
      last.reply.id,
    ]);
    expect(fake.requests).toHaveLength(1);
    const users = fake.requests[0]?.body.messages.filter((m) => m.role === 'user').map((m) => m.content);
    expect(users).toEqual(bySeq.map((b) => b.message.content));
    expect([...(users ?? [])].sort()).toEqual([...contents].sort());
    const rows = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM messages WHERE session_id = $1 AND role = 'assistant' GROUP BY status ORDER BY status`,
      [sessionId],
    );
    expect(rows).toEqual([
      { status: 'complete', n: 1 },
      { status: 'superseded', n: 4 },
    ]);
  });
});
