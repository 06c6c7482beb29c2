import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { eventually, http, type HttpResult } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { fakeProviderEnv, longQuestion, seenText } from './conversation.suite.js';

describe('stop after a Redis restart, across 2 api + 1 worker processes', () => {
  let db: TestDatabase;
  let fake: FakeOpenAi;
  let redis: PrivateRedis;
  let processes: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await FakeOpenAi.start();
    redis = await PrivateRedis.start();
    const env = {
      ...productionEnv(db, uniqueName('rr'), {
        ...fakeProviderEnv(fake),
        LLM_TIMEOUT_MS: '30000',
        MAX_PENDING_REPLIES: '100',
        REPLY_JOB_LOCK_MS: '2000',
        REPLY_LOCK_TTL_MS: '2000',
        RECONCILE_INTERVAL_MS: '1000',
      }),
      REDIS_URL: redis.url,
    };
    processes = await Promise.all([
      startApp({ env: { ...env, APP_ROLE: 'api' } }),
      startApp({ env: { ...env, APP_ROLE: 'api' } }),
      startApp({ env: { ...env, APP_ROLE: 'worker' } }),
    ]);
  });

  afterAll(async () => {
    await stopAll(processes);
    await redis?.stop();
    await fake?.stop();
    await db?.drop();
  });

  it('Redis restarts while a reply streams: the reply is retried, and a stop through the other api ends it stopped with the text its subscriber saw of its last attempt, every model call closed', async () => {
    const [a, b] = processes as [AppProcess, AppProcess];
    fake.reset();
    fake.tokenDelayMs = 80;
    const token = await tokenFor(uniqueName('erin'));
    const sessionId = (await http('POST', `${a.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const sse = await openSse(`${a.url}/v1/sessions/${sessionId}/events`, token);
    const sent = await http('POST', `${a.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: longQuestion(120) },
    });
    expect(sent.status, sent.text).toBe(202);
    const replyId = sent.body.reply.id as string;
    const deltas = (): number =>
      sse.events.filter((e) => e.event === 'reply.delta' && e.data.messageId === replyId).length;
    await eventually(async () => (deltas() >= 3 ? true : undefined), 20_000, 'deltas before the restart');

    const replyDeltas = (): { attempt: number }[] =>
      sse.events
        .filter((e) => e.event === 'reply.delta' && e.data.messageId === replyId)
        .map((e) => ({ attempt: e.data.attempt as number }));
    // The attempt streaming now, read before the restart: once Redis is back, the reconciler may hand
    // the reply out again before the restart has even been confirmed to this test.
    const firstAttempt = Math.max(...replyDeltas().map((d) => d.attempt));
    await redis.stop();
    await sleep(300);
    await redis.start();
    // The restarted Redis lost the reply's lock: its worker aborts the attempt (it could no longer
    // fence its writes), the reconciler hands the reply out again, and a new attempt streams.
    await eventually(
      async () => (replyDeltas().filter((d) => d.attempt > firstAttempt).length >= 3 ? true : undefined),
      20_000,
      'deltas after the restart',
    );
    // From the new attempt's first delta on, every delta is of a later attempt: the old one wrote nothing more.
    const all = replyDeltas();
    const later = all.slice(all.findIndex((d) => d.attempt > firstAttempt));
    expect(later.length).toBeGreaterThanOrEqual(3);
    expect(later.every((d) => d.attempt > firstAttempt)).toBe(true);

    let stopped: HttpResult | undefined;
    await eventually(
      async () => {
        stopped = await http('POST', `${b.url}/v1/sessions/${sessionId}/messages/${replyId}/stop`, { token });
        return stopped.status === 503 ? undefined : true;
      },
      20_000,
      'the stop',
    );
    expect(stopped?.status, stopped?.text).toBe(200);
    await sse.waitFor((e) => e.event === 'reply.stopped' && e.data.message.id === replyId, 10_000, 'reply.stopped');
    // Every model call was closed by Parley: the aborted attempt's and the stopped one's.
    await eventually(
      async () => (fake.requests.length >= 2 && fake.closedByClient === fake.requests.length ? true : undefined),
      10_000,
      'every model call closed',
    );
    await sleep(1500);
    sse.close();
    const text = seenText(sse, replyId);
    expect(text.length).toBeGreaterThan(0);
    expect(stopped?.body).toMatchObject({ status: 'stopped', content: text });
    const [row] = await db.query<{ status: string; content: string }>(
      'SELECT status, content FROM messages WHERE id = $1',
      [replyId],
    );
    expect(row).toEqual({ status: 'stopped', content: text });
    // Nothing answered it again after the stop.
    expect(fake.closedByClient).toBe(fake.requests.length);
    expect(
      sse.events.some(
        (e) =>
          (e.event === 'reply.completed' || e.event === 'reply.failed') &&
          (e.data.message?.id ?? e.data.messageId) === replyId,
      ),
    ).toBe(false);
  });
});
