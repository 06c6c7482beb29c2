import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/coordination/event-stream.port.js';
import { SessionEventBus } from '../../src/events/session-event-bus.service.js';
import { SessionEventType } from '../../src/events/session-event.payloads.js';
import { MessageException, MessageExceptionCode } from '../../src/messages/message.exception.js';
import { MessageService } from '../../src/messages/message.service.js';
import { SessionRepository } from '../../src/session/session.repository.js';
import { uniqueName } from '../support/services.js';
import { createMediumApp, type MediumApp } from './medium.factory.js';

describe('messages and events in process (PostgreSQL, in-process adapters)', () => {
  let app: MediumApp;
  let messages: MessageService;
  let events: SessionEventBus;

  beforeAll(async () => {
    app = await createMediumApp({ APP_ROLE: 'api', MAX_PENDING_REPLIES: '3' });
    messages = app.get(MessageService);
    events = app.get(SessionEventBus);
  });

  afterAll(async () => {
    await app?.close();
  });

  const newSession = (): Promise<{ ownerId: string; sessionId: string }> => app.newSession();

  it('answers a repeated idempotency key with the first exchange and stores nothing new', async () => {
    const session = await newSession();
    const first = await app.inRequest(() => messages.send({ ...session, content: 'once', clientMessageId: 'key-1' }));
    const again = await app.inRequest(() => messages.send({ ...session, content: 'once', clientMessageId: 'key-1' }));
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect([again.message.id, again.reply.id]).toEqual([first.message.id, first.reply.id]);
    const rows = await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE session_id = $1', [
      session.sessionId,
    ]);
    expect(rows[0]?.n).toBe(2);
    const sessionRow = await app.get(SessionRepository).findById(session.sessionId);
    expect(sessionRow).toMatchObject({ lastSeq: 2, messageCount: 2 });
  });

  it('refuses a send past MAX_PENDING_REPLIES across the owner’s sessions, storing nothing', async () => {
    const owner = uniqueName('busy');
    const sessions = await Promise.all(
      [0, 1].map(async () => ({
        ownerId: owner,
        sessionId: (await app.get(SessionRepository).create(owner, null, 100))!.id,
      })),
    );
    for (let i = 0; i < 3; i += 1) {
      await app.inRequest(() => messages.send({ ...sessions[i % 2]!, content: `pending ${i}` }));
    }
    const refused = app.inRequest(() => messages.send({ ...sessions[0]!, content: 'one too many' }));
    await expect(refused).rejects.toBeInstanceOf(MessageException);
    await expect(refused).rejects.toMatchObject({ code: MessageExceptionCode.TooManyPendingReplies });
    const rows = await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE owner_id = $1', [
      owner,
    ]);
    expect(rows[0]?.n).toBe(6);
  });

  it('publishes message.created with both messages, and replays after a given event id', async () => {
    const session = await newSession();
    const seen: StreamEvent[] = [];
    const live = await events.subscribe(session.sessionId, undefined, (event) => seen.push(event));
    const first = await app.inRequest(() => messages.send({ ...session, content: 'first' }));
    await app.inRequest(() => messages.send({ ...session, content: 'second' }));
    await expect.poll(() => seen.length).toBe(2);
    live.close();
    expect(seen.map((event) => event.type)).toEqual([SessionEventType.MessageCreated, SessionEventType.MessageCreated]);
    expect(seen[0]?.data).toMatchObject({
      message: { id: first.message.id, seq: 1, role: 'user', status: 'complete', content: 'first' },
      reply: { id: first.reply.id, seq: 2, role: 'assistant', status: 'pending', replyTo: first.message.id },
    });

    const replayed: StreamEvent[] = [];
    const resumed = await events.subscribe(session.sessionId, seen[0]?.id, (event) => replayed.push(event));
    await expect.poll(() => replayed.length).toBe(1);
    resumed.close();
    expect(replayed[0]).toEqual(seen[1]);
  });
});
