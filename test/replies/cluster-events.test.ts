import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { fakeAnswer } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { openSse, type SseEvent } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const CONCURRENT_SENDS = 20;

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}

describe('replies across 2 api and 2 worker processes', () => {
  const fx = withCluster(
    [{ role: 'api' }, { role: 'api' }, { role: 'worker' }, { role: 'worker' }],
    { MAX_PENDING_REPLIES: '1000' },
    { fakeOpenAi: true },
  );

  const [a, b] = [() => fx.cluster.apps[0] as AppProcess, () => fx.cluster.apps[1] as AppProcess];

  it('streams every delta and the completion of a worker’s reply to an SSE client on an api process, and resumes on the other api with Last-Event-ID', async () => {
    fx.fake.reset();
    fx.fake.tokenDelayMs = 40;
    const token = await tokenFor(uniqueName('alice'));
    const session = await http('POST', `${a().url}/v1/sessions`, { token, body: { title: 'sse' } });
    const sessionId = session.body.id as string;
    const eventsPath = `/v1/sessions/${sessionId}/events`;

    const whole = await openSse(`${a().url}${eventsPath}`, token);
    const first = await http('POST', `${a().url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'tell me about the sea' },
    });
    expect(first.status).toBe(202);
    const completed = await whole.waitFor((e) => e.event === 'reply.completed', 20_000, 'the first reply.completed');
    whole.close();
    expect(whole.events[0]).toMatchObject({
      event: 'message.created',
      data: { message: { id: first.body.message.id } },
    });
    const deltas = whole.events
      .filter((e) => e.event === 'reply.delta')
      .map((e) => e.data.delta)
      .join('');
    expect(deltas).toBe(completed.data.message.content);
    expect(completed.data.message).toMatchObject({ id: first.body.reply.id, status: 'complete' });

    const long = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';
    const before = await openSse(`${a().url}${eventsPath}`, token);
    const second = await http('POST', `${b().url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: long },
    });
    await before.waitFor(
      (e) =>
        e.event === 'reply.delta' &&
        e.data.messageId === second.body.reply.id &&
        before.events.filter((x) => x.event === 'reply.delta').length >= 4,
      20_000,
      'four deltas',
    );
    before.close();
    await before.ended;
    const lastSeen = before.events.at(-1) as SseEvent;
    // Disconnected long enough for several deltas to be published meanwhile: the resume must replay them.
    await sleep(250);

    const after = await openSse(`${b().url}${eventsPath}`, token, { 'last-event-id': lastSeen.id });
    const done = await after.waitFor((e) => e.event === 'reply.completed', 20_000, 'the resumed reply.completed');
    after.close();

    const all = [...before.events, ...after.events];
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i += 1) {
      expect(compareIds(ids[i] as string, ids[i - 1] as string)).toBeGreaterThan(0);
    }
    expect(compareIds(after.events[0]?.id as string, lastSeen.id)).toBeGreaterThan(0);
    const text = all
      .filter((e) => e.event === 'reply.delta' && e.data.messageId === second.body.reply.id)
      .map((e) => e.data.delta)
      .join('');
    expect(text).toBe(done.data.message.content);
    expect(text).toBe(
      fakeAnswer([
        { role: 'user', content: 'tell me about the sea' },
        { role: 'user', content: long },
      ]).join(''),
    );
  });

  it(`completes ${CONCURRENT_SENDS} concurrent sends to one session in seq order, each prompt holding every earlier message`, async () => {
    fx.fake.reset();
    const token = await tokenFor(uniqueName('bob'));
    const session = await http('POST', `${a().url}/v1/sessions`, { token, body: { title: 'burst' } });
    const sessionId = session.body.id as string;
    const sent = await Promise.all(
      Array.from({ length: CONCURRENT_SENDS }, (_, i) =>
        http('POST', `${fx.cluster.apps[i % 2]?.url}/v1/sessions/${sessionId}/messages`, {
          token,
          body: { content: `question number ${i}` },
        }),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual(Array(CONCURRENT_SENDS).fill(202));

    const rows = await eventually(
      async () => {
        const found = await fx.db.query<{
          seq: number;
          role: string;
          content: string;
          status: string;
          updated_at: Date;
        }>('SELECT seq, role, content, status, updated_at FROM messages WHERE session_id = $1 ORDER BY seq', [
          sessionId,
        ]);
        return found.every((r) => r.status === 'complete') ? found : undefined;
      },
      45_000,
      'every reply to complete',
    );
    expect(rows).toHaveLength(2 * CONCURRENT_SENDS);
    expect(fx.fake.requests).toHaveLength(CONCURRENT_SENDS);

    for (let k = 1; k <= CONCURRENT_SENDS; k += 1) {
      const question = rows[2 * k - 2];
      const reply = rows[2 * k - 1];
      expect(reply?.content.startsWith(`Answer ${k} `)).toBe(true);
      if (k > 1) {
        expect((reply?.updated_at as Date).getTime()).toBeGreaterThanOrEqual(
          (rows[2 * k - 3]?.updated_at as Date).getTime(),
        );
      }
      const request = fx.fake.requests.find((r) => r.body.messages.at(-1)?.content === question?.content);
      const history = rows.slice(0, 2 * k - 1).map((r) => ({ role: r.role, content: r.content }));
      expect(request?.body.messages.slice(1)).toEqual(history);
    }
  });
});
