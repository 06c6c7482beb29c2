import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import { pipelinedTransaction } from '../database/pipelined-transaction.js';
import { allocateSeqsSql, SessionRepository } from '../session/session.repository.js';
import { SendRetryDetector } from '../throttle/send-retry.port.js';
import { sessionIdForKey } from './idempotent-session.util.js';
import type { BranchMessage, MessageEntity } from '../conversation/message.entity.js';
import {
  MESSAGE_COLUMNS,
  MESSAGE_COLUMNS_OF_M,
  OPEN_REPLY,
  toMessage,
  type MessageRow,
} from '../conversation/message.mapper.js';

export interface Exchange {
  message: MessageEntity;
  reply: MessageEntity;
  /** Coalescing: the reply this send superseded (it answered nothing yet; the new reply answers both). */
  superseded?: MessageEntity;
}

export interface AppendExchangeInput {
  sessionId: string;
  ownerId: string;
  content: string;
  clientMessageId: string | null;
  requestId: string;
  maxPendingReplies: number;
  /** Where the message goes: a message of this session, null for a root, undefined for after the newest message. */
  parentId?: string | null;
  /**
   * Create the session (id `sessionId`, owned by `ownerId`) in the same transaction, after the
   * pending-reply check and under the owner's session cap: a refused send leaves no empty session
   * behind. When the session exists already (the id derived from an idempotency key, see
   * sessionIdForKey), the send goes into it instead.
   */
  createSession?: { title: string | null; maxSessions: number };
}

export type AppendExchangeResult =
  | { outcome: 'created'; exchange: Exchange }
  | { outcome: 'repeated'; exchange: Exchange }
  /** The idempotency key was used before for a send with a different body. */
  | { outcome: 'key_reused' }
  | { outcome: 'session_gone' }
  | { outcome: 'parent_not_found' }
  | { outcome: 'too_many_pending' }
  | { outcome: 'too_many_sessions' };

/**
 * Whether a send repeats the body of the message stored under its key: the same content, and the
 * same parent when it names one (without one it continues the newest message, whichever that was).
 */
function sameBody(stored: MessageEntity, input: AppendExchangeInput): boolean {
  return stored.content === input.content && (input.parentId === undefined || input.parentId === stored.parentId);
}

/**
 * The exchange stored under an idempotency key ($2) in a session ($1): the message, then its
 * replies (the first, and any regenerated since) in seq order. A reply's parent is the message it
 * answers (messages_reply_parent), so its replies are found through the children index: `reply_to`
 * has no index, and an OR on it read every message of the session on every send with a key.
 */
export const EXCHANGE_BY_CLIENT_ID_SQL = `SELECT ${MESSAGE_COLUMNS} FROM messages
  WHERE session_id = $1 AND (client_message_id = $2 OR (role = 'assistant'
    AND parent_id = (SELECT id FROM messages WHERE session_id = $1 AND client_message_id = $2)))
  ORDER BY seq`;

/**
 * The insert of an exchange: the seq allocation (guarded by `guard`) and both rows in one
 * statement, the message taking the first of the two seqs and its pending reply the second.
 * Parameters: $1 the message's id, $2 the reply's, $3 the session, $4 the owner, $5 the content,
 * $6 the idempotency key, $7 the request id; `parent` is the message's parent (an expression).
 */
function exchangeInsertSql(parent: string, guard?: string): string {
  return `WITH seqs AS (${allocateSeqsSql('$3', '2', guard)})
       INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id, client_message_id, request_id)
       SELECT exchange.* FROM seqs CROSS JOIN LATERAL (VALUES
         ($1::uuid, $3::uuid, $4::text, seqs.last_seq - 1, 'user', $5::text, 'complete', NULL::uuid, ${parent}, $6::text, $7::text),
         ($2::uuid, $3::uuid, $4::text, seqs.last_seq, 'assistant', '', 'pending', $1::uuid, $1::uuid, NULL, $7::text)
       ) AS exchange
       RETURNING ${MESSAGE_COLUMNS}`;
}

/**
 * A plain send's insert (after the session's newest message), which checks what the full
 * transaction reads first, in the same statement: the session is the owner's and answers each
 * message (not `coalesce`), its idempotency key ($6) is new in it, and the owner has fewer than
 * $8 replies pending. It runs behind the owner's lock and the session row's (statements of their
 * own, so that its snapshot is taken once both are held): the checks see every earlier send. Its
 * parent is read in it too. When a check fails it stores nothing and returns no row.
 */
export const PLAIN_EXCHANGE_SQL = exchangeInsertSql(
  '(SELECT id FROM messages WHERE session_id = $3::uuid ORDER BY seq DESC LIMIT 1)',
  `owner_id = $4::text AND reply_mode = 'each'
         AND NOT EXISTS (SELECT 1 FROM messages WHERE session_id = $3::uuid AND client_message_id = $6::text)
         AND (SELECT count(*) FROM (
           SELECT 1 FROM messages WHERE owner_id = $4::text AND ${OPEN_REPLY} LIMIT $8::int
         ) open_replies) < $8::int`,
);

/** A send's insert after the parent its transaction read ($8). */
const EXCHANGE_SQL = exchangeInsertSql('$8::uuid');

/** The owner's lock, taken first by every send: one user's sends are serialised. */
export const OWNER_LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))';

/** A send refused after its transaction changed something: thrown to roll that back. */
class RefusedSend extends Error {
  constructor(readonly result: AppendExchangeResult) {
    super(`send refused: ${result.outcome}`);
  }
}

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

  /**
   * Whether this owner already sent this idempotency key in this session (null: in the session a
   * send without one created for this key).
   */
  async isRetry(sessionId: string | null, ownerId: string, clientMessageId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      'SELECT 1 FROM messages WHERE session_id = $1 AND owner_id = $2 AND client_message_id = $3',
      [sessionId ?? sessionIdForKey(ownerId, clientMessageId), ownerId, clientMessageId],
    );
    return rows.length > 0;
  }

  /**
   * Stores a user message and its pending reply in one transaction. The session row is locked
   * before anything is read, so `seq` allocation and the idempotency check are serialised per
   * session; `(session_id, seq)` being unique is the last line of defence.
   */
  async appendExchange(input: AppendExchangeInput): Promise<AppendExchangeResult> {
    const plain =
      input.parentId === undefined && input.createSession === undefined ? await this.appendPlain(input) : null;
    const result = plain ?? (await this.appendInTransaction(input));
    if (result.outcome === 'created') {
      // The session's messages and row changed (or it was created here), and the owner's session
      // list shows it: one bump of both counters, in one round trip.
      await this.changes.sessionsChanged(input.ownerId, input.sessionId);
    }
    return result;
  }

  /**
   * A plain send in one round trip: the transaction's opening, the owner's lock, the session row's
   * lock, the guarded insert (PLAIN_EXCHANGE_SQL) and the COMMIT go out in one write. Null when
   * the insert stored nothing: the send is then made by the full transaction (appendInTransaction),
   * which reads under the same locks what refused it and answers accordingly (the same key again,
   * too many pending replies, a session gone or another user's) or makes it (a `coalesce`
   * session). A refused send costs one transaction more; a stored one, one round trip less.
   */
  private appendPlain(input: AppendExchangeInput): Promise<AppendExchangeResult | null> {
    return pipelinedTransaction(this.db, async (tx, commitWith): Promise<AppendExchangeResult | null> => {
      const locks = Promise.all([
        tx.query(OWNER_LOCK_SQL, [`pending:${input.ownerId}`]),
        this.sessions.lockOwnedInTransaction(tx, input.sessionId, input.ownerId),
      ]);
      const inserted = commitWith(() => this.insertExchange(tx, input, PLAIN_EXCHANGE_SQL, input.maxPendingReplies));
      const [, exchange] = await Promise.all([locks, inserted]);
      return exchange === null ? null : { outcome: 'created', exchange };
    });
  }

  /**
   * The locks and the reads under them go out pipelined, in this order, behind the transaction's
   * opening: PostgreSQL runs them one after the other, so every read still runs under both locks,
   * without a round trip per statement. Reads a refused send did not need are discarded. The
   * insert goes out with the COMMIT: two round trips, for a send that names its parent, creates its
   * session, or was not stored by appendPlain.
   */
  private appendInTransaction(input: AppendExchangeInput): Promise<AppendExchangeResult> {
    return pipelinedTransaction(this.db, async (tx, commitWith): Promise<AppendExchangeResult> => {
      // One user's sends are serialised (user lock, then session row: always in that order), so the
      // pending-reply cap holds across that user's sessions too.
      const [, locked, existing, parent, pendingBefore] = await Promise.all([
        tx.query(OWNER_LOCK_SQL, [`pending:${input.ownerId}`]),
        this.sessions.lockOwnedInTransaction(tx, input.sessionId, input.ownerId),
        input.clientMessageId === null ? null : this.findExchangeByClientId(tx, input.sessionId, input.clientMessageId),
        this.parentFor(tx, input.sessionId, input.parentId),
        this.pendingRepliesOf(tx, input.ownerId, input.maxPendingReplies),
      ]);
      if (locked === null) {
        return input.createSession
          ? this.appendToNewSession(tx, input, input.createSession)
          : { outcome: 'session_gone' };
      }
      if (existing) {
        // Same key, same body: the original answer. Same key, another body: refused (422).
        return sameBody(existing.message, input)
          ? { outcome: 'repeated', exchange: existing }
          : { outcome: 'key_reused' };
      }
      if (parent === undefined) {
        return { outcome: 'parent_not_found' };
      }
      // The cap counts what is pending once this send has superseded its parent (a superseded reply
      // is not pending): a coalesced burst is never refused for the reply it replaces. A refused
      // send rolls the supersede back with the rest of its transaction. Nothing superseded, nothing
      // changed since the pipelined count.
      const superseded = locked.replyMode === 'coalesce' && parent !== null ? await this.supersede(tx, parent) : null;
      const tooManyPending =
        superseded === null ? pendingBefore : await this.pendingRepliesOf(tx, input.ownerId, input.maxPendingReplies);
      if (tooManyPending) {
        if (superseded !== null) {
          throw new RefusedSend({ outcome: 'too_many_pending' });
        }
        return { outcome: 'too_many_pending' };
      }
      const exchange = await commitWith(() => this.insertExchangeAfter(tx, input, parent));
      return { outcome: 'created', exchange: superseded === null ? exchange : { ...exchange, superseded } };
    }).catch((error: unknown) => {
      if (error instanceof RefusedSend) {
        return error.result;
      }
      throw error;
    });
  }

  /**
   * Coalescing: the reply the new message follows, if it has not started yet, will never be
   * generated; the new reply answers both messages. Fenced by status: a reply a worker already
   * started is left to finish. A reply is told by its `reply_to`, not its role: see OPEN_REPLY.
   */
  private async supersede(tx: EntityManager, parentId: string): Promise<MessageEntity | null> {
    const [rows]: [MessageRow[], number] = await tx.query(
      `UPDATE messages SET status = 'superseded', updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND reply_to IS NOT NULL AND status = 'pending' RETURNING ${MESSAGE_COLUMNS}`,
      [parentId],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  /**
   * The parent of a new user message, read under the session row's lock: the one asked for (if it
   * is a message of this session), or the newest message, whose branch a plain send continues.
   * Undefined when the one asked for is not in this session.
   */
  private async parentFor(
    tx: EntityManager,
    sessionId: string,
    asked: string | null | undefined,
  ): Promise<string | null | undefined> {
    if (asked === null) {
      return null;
    }
    const rows: Array<{ id: string }> =
      asked === undefined
        ? await tx.query('SELECT id FROM messages WHERE session_id = $1 ORDER BY seq DESC LIMIT 1', [sessionId])
        : await tx.query('SELECT id FROM messages WHERE session_id = $1 AND id = $2', [sessionId, asked]);
    if (rows[0] === undefined) {
      return asked === undefined ? null : undefined;
    }
    return rows[0].id;
  }

  private async appendToNewSession(
    tx: EntityManager,
    input: AppendExchangeInput,
    session: { title: string | null; maxSessions: number },
  ): Promise<AppendExchangeResult> {
    if (await this.pendingRepliesOf(tx, input.ownerId, input.maxPendingReplies)) {
      return { outcome: 'too_many_pending' };
    }
    const created = await this.sessions.insertUnderCapInTransaction(
      tx,
      { id: input.sessionId, ownerId: input.ownerId, title: session.title },
      session.maxSessions,
    );
    if (created === null) {
      return { outcome: 'too_many_sessions' };
    }
    return { outcome: 'created', exchange: await this.insertExchangeAfter(tx, input, null) };
  }

  /**
   * One page of the branch that ends at `leafId` (default: the newest message), newest first in the
   * database and returned ascending; one row more than `limit` tells that there is an older page.
   * Parents always have a smaller seq than their children, so walking up from the leaf visits the
   * branch in descending seq, and the walk stops once it has the page: the newest page of a
   * conversation of ten thousand messages costs what it costs in one of a hundred (an older page,
   * the walk down to it). Null when `leafId` is not a message of this session.
   *
   * One statement, the leaf found inside it: a history read that misses the cache costs one round
   * trip and one pooled connection's turn. Only an empty page asked for by `leafId` needs a
   * second look, to tell a leaf above `beforeSeq` from one that is not there.
   */
  async listBranch(
    sessionId: string,
    leafId: string | null,
    limit: number,
    beforeSeq: number | null,
  ): Promise<BranchMessage[] | null> {
    const rows: Array<MessageRow & { sibling_count: number; sibling_index: number }> = await this.db.query(
      `WITH RECURSIVE branch AS (
         SELECT id, parent_id, seq, ($3::int IS NULL OR seq < $3::int)::int AS counted FROM messages
         WHERE session_id = $1
           AND id = COALESCE($2::uuid, (SELECT id FROM messages WHERE session_id = $1 ORDER BY seq DESC LIMIT 1))
         UNION ALL
         -- One primary-key lookup per step whatever the statistics say (a join may be planned as a
         -- scan of the whole session per step); the walk ends once the page is full.
         SELECT p.id, p.parent_id, p.seq, b.counted + ($3::int IS NULL OR p.seq < $3::int)::int FROM branch b
         CROSS JOIN LATERAL (SELECT id, parent_id, seq FROM messages WHERE id = b.parent_id AND session_id = $1 LIMIT 1) p
         WHERE b.counted < $4
       ), page AS (
         SELECT id FROM branch WHERE $3::int IS NULL OR seq < $3::int ORDER BY seq DESC LIMIT $4
       )
       SELECT ${MESSAGE_COLUMNS_OF_M},
         siblings.sibling_count, siblings.sibling_index
       FROM messages m CROSS JOIN LATERAL (
         -- Children of the same parent, or roots: two index lookups (an OR of both would scan).
         SELECT sum(n)::int AS sibling_count, sum(older)::int AS sibling_index FROM (
           SELECT count(*) AS n, count(*) FILTER (WHERE s.seq < m.seq) AS older FROM messages s
           WHERE s.session_id = m.session_id AND s.parent_id = m.parent_id AND s.role = m.role
           UNION ALL
           SELECT count(*), count(*) FILTER (WHERE s.seq < m.seq) FROM messages s
           WHERE m.parent_id IS NULL AND s.session_id = m.session_id AND s.parent_id IS NULL AND s.role = m.role
         ) counted
       ) siblings
       WHERE m.id IN (SELECT id FROM page) ORDER BY m.seq ASC`,
      [sessionId, leafId, beforeSeq, limit + 1],
    );
    if (rows.length === 0 && leafId !== null && (await this.findInSession(sessionId, leafId)) === null) {
      return null;
    }
    return rows.map((row) => ({ ...toMessage(row), siblingCount: row.sibling_count, siblingIndex: row.sibling_index }));
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
    const rows: MessageRow[] = await tx.query(EXCHANGE_BY_CLIENT_ID_SQL, [sessionId, clientMessageId]);
    const [message, reply] = rows.map(toMessage);
    return message && reply ? { message, reply } : null;
  }

  /** True when the owner already has `max` replies pending or streaming, across all sessions. */
  private async pendingRepliesOf(tx: EntityManager, ownerId: string, max: number): Promise<boolean> {
    const rows: Array<{ open: number }> = await tx.query(
      `SELECT count(*)::int AS open FROM (
         SELECT 1 FROM messages WHERE owner_id = $1 AND ${OPEN_REPLY} LIMIT $2
       ) open_replies`,
      [ownerId, max],
    );
    return (rows[0]?.open ?? 0) >= max;
  }

  /**
   * The seq allocation and the insert in one statement (one round trip while the session's row
   * lock is held), after `parentId`.
   */
  private async insertExchangeAfter(
    tx: EntityManager,
    input: AppendExchangeInput,
    parentId: string | null,
  ): Promise<Exchange> {
    const exchange = await this.insertExchange(tx, input, EXCHANGE_SQL, parentId);
    if (exchange === null) {
      throw new Error(`session ${input.sessionId} vanished under its row lock`);
    }
    return exchange;
  }

  /** Runs an exchange insert (exchangeInsertSql) with `last` as its 8th parameter; null when it stored nothing. */
  private async insertExchange(
    tx: EntityManager,
    input: AppendExchangeInput,
    sql: string,
    last: string | number | null,
  ): Promise<Exchange | null> {
    const messageId = randomUUID();
    const rows: MessageRow[] = await tx.query(sql, [
      messageId,
      randomUUID(),
      input.sessionId,
      input.ownerId,
      input.content,
      input.clientMessageId,
      input.requestId,
      last,
    ]);
    const [first, second] = rows.map(toMessage);
    if (first === undefined || second === undefined) {
      return null;
    }
    return first.role === 'user' ? { message: first, reply: second } : { message: second, reply: first };
  }
}
