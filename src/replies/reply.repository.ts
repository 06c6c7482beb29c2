import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { MessageCore, MessageEntity } from '../conversation/message.entity.js';
import {
  MESSAGE_COLUMNS,
  MESSAGE_COLUMNS_OF_M,
  MESSAGE_CORE_COLUMNS,
  OPEN_REPLY,
  toMessage,
  toMessageCore,
  type MessageCoreRow,
  type MessageRow,
} from '../conversation/message.mapper.js';

/** 1 for a message a prompt may hold (shown to the user: complete, or stopped with some text), else 0. */
const SHOWN = `(status = 'complete' OR (status = 'stopped' AND content <> ''))::int`;

/** A user message whose completed reply should have led to a memory extraction that never ran. */
export interface AwaitingExtraction {
  readonly messageId: string;
  readonly ownerId: string;
  readonly sessionId: string;
  readonly content: string;
  readonly requestId: string | null;
}

/**
 * Queries of the reply lifecycle (pending → streaming → complete | failed). Every write that
 * finishes a reply names the attempt it belongs to: a stale worker's write matches no row (F8).
 * Every write that changes a row tells the ChangeNotifier once it has committed.
 */
@Injectable()
export class ReplyRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  async findReply(replyId: string): Promise<MessageEntity | null> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND role = 'assistant'`,
      [replyId],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  /** The earliest reply of the session still to be generated: replies are produced in seq order. */
  async nextOpenReply(sessionId: string): Promise<MessageEntity | null> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE session_id = $1 AND ${OPEN_REPLY} ORDER BY seq LIMIT 1`,
      [sessionId],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  /**
   * The session's earliest open reply, and its first attempt begun in the same statement (as
   * beginAttempt does) unless it must wait: a `coalesce` session's reply that is still pending and
   * was created after `quietSinceMs` (the caller's clock, less the coalescing window) is returned
   * unclaimed (`attempt` null) with its session's reply mode. `more`: whether another open reply
   * followed it when it was found. Null when the session has no open reply, or when the one found
   * was stopped before it could be claimed.
   */
  async claimNextReply(
    sessionId: string,
    quietSinceMs: number,
  ): Promise<{ reply: MessageEntity; replyMode: string; attempt: number | null; more: boolean } | null> {
    const rows: Array<MessageRow & { reply_mode: string; more: boolean; claimed: boolean }> = await this.db.query(
      `WITH open AS (
         SELECT m.id, m.status, m.created_at, s.reply_mode, m.seq
         FROM sessions s CROSS JOIN LATERAL (
           SELECT id, seq, status, created_at FROM messages
           WHERE session_id = s.id AND ${OPEN_REPLY} ORDER BY seq LIMIT 2
         ) m
         WHERE s.id = $1
       ), next AS (
         SELECT o.id, o.reply_mode,
           o.reply_mode = 'coalesce' AND o.status = 'pending'
             AND o.created_at > to_timestamp($2::double precision / 1000) AS waits,
           (SELECT count(*) FROM open) > 1 AS more
         FROM open o ORDER BY o.seq LIMIT 1
       ), claimed AS (
         UPDATE messages m SET status = 'streaming', attempt = attempt + 1, updated_at = date_trunc('milliseconds', now())
         FROM next
         WHERE m.id = next.id AND NOT next.waits AND m.status IN ('pending', 'streaming')
         RETURNING ${MESSAGE_COLUMNS_OF_M}, next.reply_mode, next.more
       )
       SELECT *, true AS claimed FROM claimed
       UNION ALL
       SELECT ${MESSAGE_COLUMNS_OF_M}, n.reply_mode, n.more, false AS claimed
       FROM next n JOIN messages m ON m.id = n.id WHERE n.waits`,
      [sessionId, quietSinceMs],
    );
    const row = rows[0];
    if (row === undefined) {
      return null;
    }
    const reply = toMessage(row);
    if (row.claimed) {
      await this.changes.historyChanged(reply.sessionId);
    }
    return { reply, replyMode: row.reply_mode, attempt: row.claimed ? reply.attempt : null, more: row.more };
  }

  /** Open replies (pending or streaming), oldest first: what the reconciler checks for a job. */
  async openReplies(limit: number): Promise<MessageEntity[]> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${OPEN_REPLY} ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map(toMessage);
  }

  /**
   * User messages whose reply completed within the last `windowMs` and that were never extracted,
   * oldest first, for owners who have extraction on and whose reply completed after they last
   * changed their preferences (a message sent while extraction was off is never drawn from later).
   * The messages of `leaveOut` are not among them.
   */
  async awaitingExtraction(
    windowMs: number,
    limit: number,
    leaveOut: readonly string[] = [],
  ): Promise<AwaitingExtraction[]> {
    const rows: Array<{
      id: string;
      owner_id: string;
      session_id: string;
      content: string;
      request_id: string | null;
    }> = await this.db.query(
      `SELECT u.id, u.owner_id, u.session_id, u.content, r.request_id
         FROM messages r
         JOIN messages u ON u.id = r.reply_to AND u.role = 'user'
         LEFT JOIN user_preferences p ON p.owner_id = u.owner_id
         WHERE r.role = 'assistant' AND r.status = 'complete'
           AND r.updated_at > now() - make_interval(secs => $1::double precision / 1000)
           AND (p.owner_id IS NULL OR (p.memory_extraction AND r.updated_at > p.updated_at))
           AND NOT EXISTS (SELECT 1 FROM memory_extractions e WHERE e.message_id = u.id)
           AND u.id <> ALL ($3::uuid[])
         ORDER BY r.updated_at LIMIT $2`,
      [windowMs, limit, leaveOut],
    );
    return rows.map((row) => ({
      messageId: row.id,
      ownerId: row.owner_id,
      sessionId: row.session_id,
      content: row.content,
      requestId: row.request_id,
    }));
  }

  /** Starts a new attempt; returns its number, or null when the reply is already finished. */
  async beginAttempt(replyId: string): Promise<number | null> {
    const [rows]: [Array<{ attempt: number; session_id: string }>, number] = await this.db.query(
      `UPDATE messages SET status = 'streaming', attempt = attempt + 1, updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND status IN ('pending', 'streaming') RETURNING attempt, session_id`,
      [replyId],
    );
    if (!rows[0]) {
      return null;
    }
    await this.changes.historyChanged(rows[0].session_id);
    return rows[0].attempt;
  }

  /**
   * The branch that ends at `messageId` (a reply's user message), its most recent `limit` messages
   * that a prompt may hold, oldest first: user messages and replies that were shown to the user
   * (complete, or stopped with some text). Other branches are never part of it. The walk up the
   * branch stops once it has `limit` of them: a prompt costs the same in a conversation of ten
   * thousand messages as in one of a hundred. It also stops at the first message shown, once the
   * messages shown after `messageId` add up to more than `tokens` (estimateTokens, counted by
   * characters: never more than it), that a summary of the session goes through. Nothing older can
   * matter to a prompt of `tokens` or less, or to the summary that extends it: it holds the
   * branch's newest summary (the one through the message with the highest seq), and what that
   * summary covers cannot be in the prompt beside it. In a long conversation whose older part is
   * summarised, a prompt then reads what its budget can hold and a little more, not `limit`
   * messages. Only each message's core is read: with every column, pg parsed two timestamps of each
   * of up to 500 messages that no prompt used (about 250 µs of CPU per reply in a profile of
   * `send-vs-pgbench`), and the walk carried them through every step.
   */
  async branchEndingAt(messageId: string, limit: number, tokens: number): Promise<MessageCore[]> {
    const rows: MessageCoreRow[] = await this.db.query(BRANCH_SQL, [messageId, limit, tokens]);
    return rows.map(toMessageCore);
  }

  /** A user message: what a completed reply answered. */
  async findUserMessage(messageId: string): Promise<MessageEntity | null> {
    const rows: MessageRow[] = await this.db.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND role = 'user'`,
      [messageId],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  /** Fenced: only the current attempt of an unfinished reply can complete it. */
  async complete(replyId: string, attempt: number, content: string): Promise<MessageEntity | null> {
    const [rows]: [MessageRow[], number] = await this.db.query(
      `UPDATE messages SET status = 'complete', content = $3, error_code = NULL, error_message = NULL,
         updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND attempt = $2 AND status = 'streaming' RETURNING ${MESSAGE_COLUMNS}`,
      [replyId, attempt, content],
    );
    return this.changed(rows[0]);
  }

  /**
   * Stops an unfinished reply with the text its subscribers saw. Fenced by status alone: it wins
   * against any attempt, and loses (null) to a reply that already finished. A reply is told by its
   * `reply_to` (never null for one), not its role: see OPEN_REPLY.
   */
  async stop(replyId: string, content: string): Promise<MessageEntity | null> {
    const [rows]: [MessageRow[], number] = await this.db.query(
      `UPDATE messages SET status = 'stopped', content = $2, error_code = NULL, error_message = NULL,
         updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND reply_to IS NOT NULL AND status IN ('pending', 'streaming') RETURNING ${MESSAGE_COLUMNS}`,
      [replyId, content],
    );
    return this.changed(rows[0]);
  }

  /** Fenced like `complete`. */
  async fail(replyId: string, attempt: number, code: string, message: string): Promise<MessageEntity | null> {
    const [rows]: [MessageRow[], number] = await this.db.query(
      `UPDATE messages SET status = 'failed', error_code = $3, error_message = $4,
         updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND attempt = $2 AND status = 'streaming' RETURNING ${MESSAGE_COLUMNS}`,
      [replyId, attempt, code, message],
    );
    return this.changed(rows[0]);
  }

  private async changed(row: MessageRow | undefined): Promise<MessageEntity | null> {
    if (!row) {
      return null;
    }
    const reply = toMessage(row);
    await this.changes.historyChanged(reply.sessionId, reply.ownerId);
    return reply;
  }
}

/**
 * branchEndingAt's walk ($1 the message, $2 the limit, $3 the tokens): `spent` adds up the shown
 * messages after the first (their characters / 4, rounded up, + 4: estimateTokens counts UTF-16
 * units, never fewer), and a step past `$3` tokens looks for a summary through its message (one
 * index lookup), whose row ends the walk.
 */
const BRANCH_SQL = `WITH RECURSIVE branch AS (
    SELECT m.*, m.shown AS counted, 0 AS spent, false AS at_summary FROM (
      SELECT ${MESSAGE_CORE_COLUMNS}, ${SHOWN} AS shown FROM messages WHERE id = $1
    ) m
    UNION ALL
    -- One primary-key lookup per step (LIMIT keeps the planner from joining by scanning).
    SELECT p.*, b.counted + p.shown, s.spent,
      CASE WHEN s.spent > $3::int AND p.shown = 1 THEN EXISTS (
        SELECT 1 FROM session_summaries x WHERE x.through_message_id = p.id AND x.session_id = p.session_id
      ) ELSE false END
    FROM branch b
    CROSS JOIN LATERAL (
      SELECT ${MESSAGE_CORE_COLUMNS}, ${SHOWN} AS shown FROM messages
      WHERE id = b.parent_id AND session_id = b.session_id LIMIT 1
    ) p
    CROSS JOIN LATERAL (SELECT b.spent + p.shown * (ceil(char_length(p.content) / 4.0)::int + 4) AS spent) s
    WHERE b.counted < $2 AND NOT b.at_summary
  )
  SELECT * FROM (
    SELECT ${MESSAGE_CORE_COLUMNS} FROM branch WHERE shown = 1 ORDER BY seq DESC LIMIT $2
  ) recent ORDER BY seq ASC`;
