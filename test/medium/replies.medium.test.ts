import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamEvent } from '../../src/coordination/event-stream.port.js';
import { SessionEventBus } from '../../src/events/session-event-bus.service.js';
import { SessionEventType } from '../../src/events/session-event.payloads.js';
import type { MessageEntity } from '../../src/conversation/message.entity.js';
import { MessageService, type SendResult } from '../../src/messages/message.service.js';
import { ReplyFencedError, ReplyGenerationService } from '../../src/replies/reply-generation.service.js';
import { LockService, type LockedWork, type LockOptions, type LockResult } from '../../src/coordination/lock.port.js';
import { ReplyStopService } from '../../src/replies/reply-stop.service.js';
import { ReplyRepository } from '../../src/replies/reply.repository.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { createMediumApp, type MediumApp } from './medium.factory.js';

/**
 * The reply pipeline in one process: the API role only, so that nothing consumes the queue and
 * each test drives generation itself, as the queue job would.
 */
describe('replies in process (PostgreSQL, in-process lock, queue and events)', () => {
  let fake: FakeOpenAi;
  let app: MediumApp;
  let messages: MessageService;
  let replies: ReplyRepository;
  let generation: ReplyGenerationService;
  let events: SessionEventBus;

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
    app = await createMediumApp({
      APP_ROLE: 'api',
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: fake.baseUrl,
      LLM_MODEL: 'fake-model',
      LLM_MAX_TRIES: '3',
      LLM_RETRY_BASE_MS: '20',
      LLM_TIMEOUT_MS: '5000',
      MAX_PENDING_REPLIES: '50',
    });
    messages = app.get(MessageService);
    replies = app.get(ReplyRepository);
    generation = app.get(ReplyGenerationService);
    events = app.get(SessionEventBus);
  });

  afterAll(async () => {
    await app?.close();
    await fake?.stop();
  });

  beforeEach(() => fake.reset());

  const newSession = (): Promise<{ ownerId: string; sessionId: string }> => app.newSession('medium');

  function send(
    session: { ownerId: string; sessionId: string },
    content: string,
    clientMessageId?: string,
  ): Promise<SendResult> {
    return app.inRequest(() => messages.send({ ...session, content, clientMessageId }));
  }

  async function reply(id: string): Promise<MessageEntity> {
    const found = await replies.findReply(id);
    expect(found).not.toBeNull();
    return found as MessageEntity;
  }

  it('streams a reply: message.created, then its deltas, then reply.completed; the stored text is the streamed text', async () => {
    const session = await newSession();
    const seen: StreamEvent[] = [];
    const subscription = await events.subscribe(session.sessionId, undefined, (event) => seen.push(event));
    try {
      const sent = await send(session, 'What is in Lisbon?');
      expect(sent.created).toBe(true);
      expect([sent.message.seq, sent.reply.seq]).toEqual([1, 2]);
      expect(sent.reply.status).toBe('pending');

      await app.inRequest(() => generation.generateSession(session.sessionId));
      const done = await reply(sent.reply.id);
      expect(done).toMatchObject({ status: 'complete', attempt: 1, content: 'Answer 1 to: What is in Lisbon?' });

      await expect.poll(() => seen.at(-1)?.type).toBe(SessionEventType.ReplyCompleted);
      expect(seen[0]?.type).toBe(SessionEventType.MessageCreated);
      const deltas = seen.filter((event) => event.type === SessionEventType.ReplyDelta);
      expect(deltas.length).toBeGreaterThan(0);
      expect(deltas.map((event) => (event.data as { delta: string }).delta).join('')).toBe(done.content);
      expect(seen.map((event) => event.id)).toEqual(
        [...seen.map((event) => event.id)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
      );
    } finally {
      subscription.close();
    }
  });

  it('retries transient model failures as new attempts and completes the reply once', async () => {
    const session = await newSession();
    fake.plan.push({ kind: 'status', status: 429 }, { kind: 'status', status: 500 });
    const sent = await send(session, 'retry me');
    await app.inRequest(() => generation.generateSession(session.sessionId));
    expect(fake.requests.map((request) => request.behaviour)).toEqual(['status', 'status', 'ok']);
    expect(await reply(sent.reply.id)).toMatchObject({
      status: 'complete',
      attempt: 3,
      content: 'Answer 1 to: retry me',
    });
  });

  it('fails the reply with a readable error after LLM_MAX_TRIES lasting failures, and publishes reply.failed', async () => {
    const session = await newSession();
    const seen: StreamEvent[] = [];
    const subscription = await events.subscribe(session.sessionId, undefined, (event) => seen.push(event));
    try {
      fake.fallback = { kind: 'status', status: 503 };
      const sent = await send(session, 'never answered');
      await app.inRequest(() => generation.generateSession(session.sessionId));
      expect(fake.requests).toHaveLength(3);
      const failed = await reply(sent.reply.id);
      expect(failed.status).toBe('failed');
      expect(failed.errorCode).toEqual(expect.any(String));
      await expect.poll(() => seen.at(-1)?.type).toBe(SessionEventType.ReplyFailed);
      expect(seen.at(-1)?.data).toMatchObject({ messageId: sent.reply.id, code: failed.errorCode });
    } finally {
      subscription.close();
    }
  });

  it('fences a generator whose reply was taken over: its completion matches no row, and the next attempt completes', async () => {
    const session = await newSession();
    const sent = await send(session, 'slow one');
    fake.tokenDelayMs = 100;
    const stale = app.inRequest(() => generation.generateSession(session.sessionId));
    await expect.poll(async () => (await reply(sent.reply.id)).status, { timeout: 10_000 }).toBe('streaming');
    // Another worker takes the reply over (as after a stalled job): attempt 2 fences attempt 1 out.
    expect(await replies.beginAttempt(sent.reply.id)).toBe(2);
    await expect(stale).rejects.toBeInstanceOf(ReplyFencedError);
    expect(await reply(sent.reply.id)).toMatchObject({ status: 'streaming', attempt: 2, content: '' });

    fake.tokenDelayMs = 0;
    await app.inRequest(() => generation.generateSession(session.sessionId));
    expect(await reply(sent.reply.id)).toMatchObject({
      status: 'complete',
      attempt: 3,
      content: 'Answer 1 to: slow one',
    });
  });

  it('stops the attempt that streams when the one before it, which lost its lock, unwinds only after it started: both model calls end closed', async () => {
    const session = await newSession();
    const sent = await send(session, 'word '.repeat(100));
    fake.tokenDelayMs = 40;
    // The first generation holds a lock that Redis has forgotten (restarted empty): the next job
    // takes the lock at once, while the first has not noticed its loss yet.
    const locks = app.get(LockService);
    const lost = new AbortController();
    const forgotten = <T>(_key: string, _options: LockOptions, work: LockedWork<T>): Promise<LockResult<T>> =>
      work(lost.signal, null).then((value) => ({ acquired: true, value }));
    const lockSpy = vi.spyOn(locks, 'tryWithLock').mockImplementationOnce(forgotten);
    let stale: Promise<unknown>;
    try {
      stale = app.inRequest(() => generation.generateSession(session.sessionId)).catch((error: unknown) => error);
      await expect.poll(() => fake.requests.length, { timeout: 10_000 }).toBe(1);
    } finally {
      lockSpy.mockRestore();
    }
    const current = app.inRequest(() => generation.generateSession(session.sessionId));
    await expect.poll(() => fake.requests.length, { timeout: 10_000 }).toBe(2);
    expect(await reply(sent.reply.id)).toMatchObject({ status: 'streaming', attempt: 2 });
    // Now the first notices its lost lock and unwinds, after the second attempt started.
    lost.abort(new Error('lock lost'));
    expect(await stale).toBe(lost.signal.reason);

    const stopped = await app.get(ReplyStopService).stop(session.sessionId, sent.reply.id);
    expect(stopped.status).toBe('stopped');
    // The stop aborts the streaming attempt's model call (its next delta is refused too): the
    // generation ends quietly, and the fake sees both of its calls closed before their answer ended
    // (at its next token, so it is polled for).
    await current;
    await expect.poll(() => fake.closedByClient, { timeout: 5_000 }).toBe(2);
    expect(fake.inFlight).toBe(0);
    expect(await reply(sent.reply.id)).toMatchObject({ status: 'stopped', attempt: 2, content: stopped.content });
  });

  it('claims the earliest open reply with its attempt begun in the statement that finds it; a coalesce reply in its window waits unclaimed', async () => {
    const session = await newSession();
    const first = await send(session, 'claim one');
    const second = await send(session, 'claim two');
    expect(await replies.claimNextReply(session.sessionId, Date.now())).toMatchObject({
      reply: { id: first.reply.id, status: 'streaming', attempt: 1 },
      replyMode: 'each',
      attempt: 1,
    });
    // Still open (streaming, its worker lost): the next look claims it again, as a new attempt.
    expect((await replies.claimNextReply(session.sessionId, Date.now()))?.attempt).toBe(2);
    expect(await replies.complete(first.reply.id, 1, 'stale')).toBeNull();
    expect(await replies.complete(first.reply.id, 2, 'done')).toMatchObject({ status: 'complete' });
    expect((await replies.claimNextReply(session.sessionId, Date.now()))?.reply.id).toBe(second.reply.id);
    expect(await replies.stop(second.reply.id, '')).toMatchObject({ status: 'stopped' });
    expect(await replies.claimNextReply(session.sessionId, Date.now())).toBeNull();

    const quiet = await newSession();
    await app.get(DataSource).query(`UPDATE sessions SET reply_mode = 'coalesce' WHERE id = $1`, [quiet.sessionId]);
    const waiting = await send(quiet, 'wait for more');
    // Created after the quiet point (now less a minute): it waits, and nothing about it changed.
    expect(await replies.claimNextReply(quiet.sessionId, Date.now() - 60_000)).toMatchObject({
      reply: { id: waiting.reply.id, status: 'pending', attempt: 0 },
      replyMode: 'coalesce',
      attempt: null,
    });
    expect(await reply(waiting.reply.id)).toMatchObject({ status: 'pending', attempt: 0 });
    expect(await replies.claimNextReply(quiet.sessionId, Date.now() + 1000)).toMatchObject({
      reply: { id: waiting.reply.id, status: 'streaming' },
      attempt: 1,
    });
  });

  it('leaves the reply of a job refused the session lock to the holder, which looks once more after letting go; unrefused, it does not look', async () => {
    const session = await newSession();
    const first = await send(session, 'word '.repeat(30));
    fake.tokenDelayMs = 20;
    const looks = vi.spyOn(replies, 'nextOpenReply');
    try {
      const holder = app.inRequest(() => generation.generateSession(session.sessionId));
      await expect.poll(() => fake.requests.length, { timeout: 10_000 }).toBe(1);
      const second = await send(session, 'sent while the first streams');
      // Its job finds the lock held and returns at once, its reply still pending.
      await app.inRequest(() => generation.generateSession(session.sessionId));
      expect(await reply(second.reply.id)).toMatchObject({ status: 'pending' });
      await holder;
      expect(await reply(first.reply.id)).toMatchObject({ status: 'complete' });
      expect(await reply(second.reply.id)).toMatchObject({ status: 'complete', content: expect.any(String) });
      expect(looks).toHaveBeenCalledTimes(1);

      // Nobody refused meanwhile: the reply is generated and the lock let go without a look after.
      looks.mockClear();
      fake.tokenDelayMs = 0;
      const alone = await newSession();
      const only = await send(alone, 'alone');
      await app.inRequest(() => generation.generateSession(alone.sessionId));
      expect(await reply(only.reply.id)).toMatchObject({ status: 'complete' });
      expect(looks).not.toHaveBeenCalled();
    } finally {
      looks.mockRestore();
    }
  });

  it("skips a job whose reply the lock's holder already made: no lock, no claim; a job whose reply is open generates it", async () => {
    const session = await newSession();
    const first = await send(session, 'one');
    const second = await send(session, 'two');
    // The first reply's job holds the lock and makes both replies, the second one's included.
    await app.inRequest(() => generation.generateForJob(first.reply.id, session.sessionId));
    expect((await reply(second.reply.id)).status).toBe('complete');

    const locks = app.get(LockService);
    const lockSpy = vi.spyOn(locks, 'tryWithLock');
    const claimSpy = vi.spyOn(replies, 'claimNextReply');
    try {
      await app.inRequest(() => generation.generateForJob(second.reply.id, session.sessionId));
      expect(lockSpy).not.toHaveBeenCalled();
      expect(claimSpy).not.toHaveBeenCalled();

      const third = await send(session, 'three');
      await app.inRequest(() => generation.generateForJob(third.reply.id, session.sessionId));
      expect(lockSpy).toHaveBeenCalled();
      expect(await reply(third.reply.id)).toMatchObject({ status: 'complete', content: 'Answer 3 to: three' });
    } finally {
      lockSpy.mockRestore();
      claimSpy.mockRestore();
    }
  });

  it('never changes a finished reply: stale completions and failures match no row', async () => {
    const session = await newSession();
    const sent = await send(session, 'fenced writes');
    expect(await replies.beginAttempt(sent.reply.id)).toBe(1);
    expect(await replies.beginAttempt(sent.reply.id)).toBe(2);
    expect(await replies.complete(sent.reply.id, 1, 'from the stale attempt')).toBeNull();
    expect(await replies.fail(sent.reply.id, 1, 'stale', 'from the stale attempt')).toBeNull();
    expect(await replies.complete(sent.reply.id, 2, 'from the current attempt')).toMatchObject({ status: 'complete' });
    expect(await replies.beginAttempt(sent.reply.id)).toBeNull();
    expect(await replies.fail(sent.reply.id, 2, 'late', 'too late')).toBeNull();
    expect(await reply(sent.reply.id)).toMatchObject({
      status: 'complete',
      attempt: 2,
      content: 'from the current attempt',
    });
  });

  it('stores 12 concurrent sends of one session as seq 1..24 and answers them in order, each prompt holding every earlier turn', async () => {
    const session = await newSession();
    const sends = await Promise.all(Array.from({ length: 12 }, (_, i) => send(session, `turn ${i}`)));
    const seqs = sends.flatMap((sent) => [sent.message.seq, sent.reply.seq]).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const sent of sends) {
      expect(sent.reply.seq).toBe(sent.message.seq + 1);
    }

    await app.inRequest(() => generation.generateSession(session.sessionId));
    const bySeq = [...sends].sort((a, b) => a.message.seq - b.message.seq);
    for (const [k, sent] of bySeq.entries()) {
      const done = await reply(sent.reply.id);
      expect(done.status).toBe('complete');
      // The fake names how many user turns its prompt held: every earlier one, then this one.
      expect(done.content).toBe(`Answer ${k + 1} to: ${sent.message.content}`);
    }
    expect(fake.requests.map((request) => request.body.messages.at(-1)?.content)).toEqual(
      bySeq.map((sent) => sent.message.content),
    );
  });
});
