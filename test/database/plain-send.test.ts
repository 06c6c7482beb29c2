import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { NoChangeNotifier } from '../../src/common/change-notifier.port.js';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource, runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { MessageRepository, type AppendExchangeInput } from '../../src/messages/message.repository.js';
import { SessionRepository } from '../../src/session/session.repository.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { topologies } from '../support/topology.js';

/**
 * A plain send (after the newest message, into an existing session) is one round trip: its
 * opening, both locks, the insert that checks the key, the pending replies and the session's reply
 * mode in the same statement, and the COMMIT, in one write. What that statement refuses, the full
 * transaction answers: the outcomes are those of before, and many sends at once keep every
 * guarantee (contiguous seqs, one exchange per key, the owner's cap on pending replies).
 */
describe.each(topologies())('a plain send ($name)', (topology) => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let messages: MessageRepository;
  let port: number;

  beforeAll(async () => {
    await topology.start();
    db = await createTestDatabase();
    const direct = new DataSource({ type: 'postgres', url: db.url, entities: [], migrations: MIGRATIONS });
    await direct.initialize();
    await runMigrationsLocked(direct);
    await direct.destroy();
    const env = topology.env(db);
    port = Number(new URL(env.DATABASE_URL ?? '').port);
    dataSource = await openDataSource(loadConfig({ ...env, JWT_SECRET: 'x'.repeat(32), DATABASE_POOL_SIZE: '4' }));
    const changes = new NoChangeNotifier();
    messages = new MessageRepository(dataSource, changes, new SessionRepository(dataSource, changes));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
    await topology.stop();
  });

  async function newSession(ownerId: string, replyMode: 'each' | 'coalesce' = 'each'): Promise<string> {
    const id = randomUUID();
    await db.query('INSERT INTO sessions (id, owner_id, reply_mode) VALUES ($1, $2, $3)', [id, ownerId, replyMode]);
    return id;
  }

  function send(sessionId: string, ownerId: string, extra: Partial<AppendExchangeInput> = {}) {
    return messages.appendExchange({
      sessionId,
      ownerId,
      content: 'How far is the moon?',
      clientMessageId: null,
      requestId: randomUUID(),
      maxPendingReplies: 100,
      ...extra,
    });
  }

  /** The writes on the pool's sockets while `work` runs: one per round trip. */
  async function writesDuring(work: () => Promise<unknown>): Promise<number> {
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    const originals = { _write: proto._write, _writev: proto._writev };
    let writes = 0;
    for (const name of ['_write', '_writev'] as const) {
      proto[name] = function (this: Socket, ...args: unknown[]): unknown {
        if (this.remotePort === port) {
          writes += 1;
        }
        return originals[name].apply(this, args);
      };
    }
    try {
      await work();
    } finally {
      proto._write = originals._write;
      proto._writev = originals._writev;
    }
    return writes;
  }

  it('is one write to the database; a send that names its parent is two', async () => {
    const ownerId = `plain-${randomUUID()}`;
    const sessionId = await newSession(ownerId);
    // The pool's connections open (and prepare) before anything is counted.
    await Promise.all(Array.from({ length: 4 }, () => send(sessionId, ownerId)));
    let result: Awaited<ReturnType<typeof send>> | undefined;
    expect(await writesDuring(async () => (result = await send(sessionId, ownerId, { clientMessageId: 'k-1' })))).toBe(
      1,
    );
    expect(result?.outcome).toBe('created');
    const created = result?.outcome === 'created' ? result.exchange : undefined;
    const rows = await db.query<{ id: string; seq: number; parent_id: string | null }>(
      'SELECT id, seq, parent_id FROM messages WHERE session_id = $1 ORDER BY seq',
      [sessionId],
    );
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // After the newest message: the reply of the send before it.
    expect(created?.message.seq).toBe(9);
    expect(created?.message.parentId).toBe(rows[7]?.id);
    expect(created?.reply.parentId).toBe(created?.message.id);
    expect(await writesDuring(() => send(sessionId, ownerId, { parentId: created?.reply.id ?? null }))).toBe(2);
  });

  it('answers what its statement refused as the full transaction does', async () => {
    const ownerId = `refused-${randomUUID()}`;
    const sessionId = await newSession(ownerId);
    const first = await send(sessionId, ownerId, { clientMessageId: 'k' });
    expect(first.outcome).toBe('created');
    const again = await send(sessionId, ownerId, { clientMessageId: 'k' });
    expect(again).toEqual({ ...first, outcome: 'repeated' });
    expect((await send(sessionId, ownerId, { clientMessageId: 'k', content: 'Another body' })).outcome).toBe(
      'key_reused',
    );
    expect((await send(sessionId, ownerId, { maxPendingReplies: 1 })).outcome).toBe('too_many_pending');
    expect((await send(sessionId, `someone-else-${randomUUID()}`)).outcome).toBe('session_gone');
    expect((await send(randomUUID(), ownerId)).outcome).toBe('session_gone');
    // A coalescing session's send supersedes the pending reply it follows.
    const coalescing = await newSession(ownerId, 'coalesce');
    const opening = await send(coalescing, ownerId);
    const next = await send(coalescing, ownerId);
    const openingReply = opening.outcome === 'created' ? opening.exchange.reply.id : undefined;
    expect(openingReply).toBeDefined();
    expect(next.outcome).toBe('created');
    expect(next.outcome === 'created' ? next.exchange.superseded?.id : undefined).toBe(openingReply);
    const [counted] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE session_id = $1', [
      sessionId,
    ]);
    expect(counted?.n).toBe(2);
  });

  it('keeps its guarantees under 60 sends at once: contiguous seqs, one exchange per key, the cap', async () => {
    const ownerId = `busy-${randomUUID()}`;
    const sessionId = await newSession(ownerId);
    // Three keys sent ten times each, and thirty sends without a key, all at once.
    const results = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => send(sessionId, ownerId, { clientMessageId: `k-${i % 3}` })),
      ...Array.from({ length: 30 }, () => send(sessionId, ownerId)),
    ]);
    const outcomes = results.map((result) => result.outcome);
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(33);
    expect(outcomes.filter((outcome) => outcome === 'repeated')).toHaveLength(27);
    const rows = await db.query<{ seq: number; client_message_id: string | null }>(
      'SELECT seq, client_message_id FROM messages WHERE session_id = $1 ORDER BY seq',
      [sessionId],
    );
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 66 }, (_, i) => i + 1));
    expect(rows.filter((row) => row.client_message_id !== null)).toHaveLength(3);
    const [session] = await db.query<{ last_seq: number; message_count: number }>(
      'SELECT last_seq, message_count FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(session).toEqual({ last_seq: 66, message_count: 66 });

    // One owner's cap holds across their sessions: 5 pending replies at most, whatever the session.
    const capped = `capped-${randomUUID()}`;
    const sessions = await Promise.all(Array.from({ length: 12 }, () => newSession(capped)));
    const sends = await Promise.all(sessions.map((id) => send(id, capped, { maxPendingReplies: 5 })));
    expect(sends.filter((result) => result.outcome === 'created')).toHaveLength(5);
    expect(sends.filter((result) => result.outcome === 'too_many_pending')).toHaveLength(7);
  });
});
