import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import { SessionRepository } from '../session/session.repository.js';
import { SendRetryDetector } from '../throttle/send-retry.port.js';
import type { MessageEntity } from './message.entity.js';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './message.mapper.js';

export interface Exchange {
  message: MessageEntity;
  reply: MessageEntity;
}

export interface AppendExchangeInput {
  sessionId: string;
  ownerId: string;
  content: string;
  clientMessageId: string | null;
  requestId: string;
  maxPendingReplies: number;
  /**
   * Create the session (id `sessionId`, owned by `ownerId`) in the same transaction, after the
   * pending-reply check: a refused send leaves no empty session behind.
   */
  createSession?: { title: string | null };
}

export type AppendExchangeResult =
  | { outcome: 'created'; exchange: Exchange }
  | { outcome: 'repeated'; exchange: Exchange }
  | { outcome: 'session_gone' }
  | { outcome: 'too_many_pending' };

/** Queries on `messages` for the API side: appending an exchange and reading history. */
@Injectable()
export class MessageRepository extends SendRetryDetector {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
    private readonly sessions: SessionRepository,
  ) {
    super();
  }

  /** Whether this owner already sent this idempotency key in this session. */
  async isRetry(sessionId: string, ownerId: string, clientMessageId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      'SELECT 1 FROM messages WHERE session_id = $1 AND owner_id = $2 AND client_message_id = $3',
      [sessionId, ownerId, clientMessageId],
    );
    return rows.length > 0;
  }

  /**
   * Stores a user message and its pending reply in one transaction. The session row is locked
   * before anything is read, so `seq` allocation and the idempotency check are serialised per
   * session; `(session_id, seq)` being unique is the last line of defence.
   */
  async appendExchange(input: AppendExchangeInput): Promise<AppendExchangeResult> {
    const result = await this.appendInTransaction(input);
    if (result.outcome === 'created') {
      // The session's messages and row changed (or it was created here), and the owner's session
      // list shows it: one bump of both counters, in one round trip.
      await this.changes.sessionsChanged(input.ownerId, input.sessionId);
    }
    return result;
  }

  private appendInTransaction(input: AppendExchangeInput): Promise<AppendExchangeResult> {
    return this.db.transaction(async (tx) => {
      // One user's sends are serialised (user lock, then session row: always in that order), so the
      // pending-reply cap holds across that user's sessions too.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`pending:${input.ownerId}`]);
      if (input.createSession) {
        return this.appendToNewSession(tx, input, input.createSession.title);
      }
      if (!(await this.sessions.lockOwnedInTransaction(tx, input.sessionId, input.ownerId))) {
        return { outcome: 'session_gone' };
      }
      if (input.clientMessageId !== null) {
        const existing = await this.findExchangeByClientId(tx, input.sessionId, input.clientMessageId);
        if (existing) {
          return { outcome: 'repeated', exchange: existing };
        }
      }
      if (await this.pendingRepliesOf(tx, input.ownerId, input.maxPendingReplies)) {
        return { outcome: 'too_many_pending' };
      }
      return { outcome: 'created', exchange: await this.insertExchange(tx, input) };
    });
  }

  private async appendToNewSession(tx: EntityManager, input: AppendExchangeInput, title: string | null): Promise<AppendExchangeResult> {
    if (await this.pendingRepliesOf(tx, input.ownerId, input.maxPendingReplies)) {
      return { outcome: 'too_many_pending' };
    }
    await this.sessions.insertInTransaction(tx, input.sessionId, input.ownerId, title);
    return { outcome: 'created', exchange: await this.insertExchange(tx, input) };
  }

  async list(sessionId: string, limit: number, beforeSeq: number | null): Promise<MessageEntity[]> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT * FROM (
         SELECT ${MESSAGE_COLUMNS} FROM messages
         WHERE session_id = $1 AND ($2::int IS NULL OR seq < $2::int)
         ORDER BY seq DESC LIMIT $3
       ) page ORDER BY seq ASC`,
      [sessionId, beforeSeq, limit + 1],
    );
    return rows.map(toMessage);
  }

  async findInSession(sessionId: string, messageId: string): Promise<MessageEntity | null> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND id = $2`,
      [sessionId, messageId],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  private async findExchangeByClientId(
    tx: EntityManager,
    sessionId: string,
    clientMessageId: string,
  ): Promise<Exchange | null> {
    const rows: MessageRow[] = await tx.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE session_id = $1 AND (client_message_id = $2
         OR reply_to = (SELECT id FROM messages WHERE session_id = $1 AND client_message_id = $2))
       ORDER BY seq`,
      [sessionId, clientMessageId],
    );
    const [message, reply] = rows.map(toMessage);
    return message && reply ? { message, reply } : null;
  }

  /** True when the owner already has `max` replies pending or streaming, across all sessions. */
  private async pendingRepliesOf(tx: EntityManager, ownerId: string, max: number): Promise<boolean> {
    const rows: Array<{ open: number }> = await tx.query(
      `SELECT count(*)::int AS open FROM (
         SELECT 1 FROM messages WHERE owner_id = $1 AND status IN ('pending', 'streaming') LIMIT $2
       ) open_replies`,
      [ownerId, max],
    );
    return (rows[0]?.open ?? 0) >= max;
  }

  private async insertExchange(tx: EntityManager, input: AppendExchangeInput): Promise<Exchange> {
    const replySeq = await this.sessions.allocateSeqsInTransaction(tx, input.sessionId, 2);
    const messageId = randomUUID();
    const rows: MessageRow[] = await tx.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, client_message_id, request_id)
       VALUES ($1, $3, $4, $5, 'user', $7, 'complete', NULL, $8, $9),
              ($2, $3, $4, $6, 'assistant', '', 'pending', $1, NULL, $9)
       RETURNING ${MESSAGE_COLUMNS}`,
      [messageId, randomUUID(), input.sessionId, input.ownerId, replySeq - 1, replySeq, input.content,
        input.clientMessageId, input.requestId],
    );
    const [first, second] = rows.map(toMessage) as [MessageEntity, MessageEntity];
    return first.role === 'user' ? { message: first, reply: second } : { message: second, reply: first };
  }
}
