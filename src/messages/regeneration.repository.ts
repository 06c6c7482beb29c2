import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import { SessionRepository } from '../session/session.repository.js';
import { TERMINAL_STATUSES, type MessageEntity } from '../conversation/message.entity.js';
import { MESSAGE_COLUMNS, OPEN_REPLY, toMessage, type MessageRow } from '../conversation/message.mapper.js';
import { transaction } from '../database/pipelined-transaction.js';

export interface RegenerateInput {
  sessionId: string;
  ownerId: string;
  replyId: string;
  requestId: string;
  maxPendingReplies: number;
}

export type RegenerateResult =
  | { outcome: 'created'; reply: MessageEntity }
  | { outcome: 'session_gone' }
  | { outcome: 'reply_not_found' }
  | { outcome: 'reply_not_finished' }
  | { outcome: 'too_many_pending' };

/**
 * A regeneration stores a new pending reply beside a finished one: a sibling with the same user
 * message as parent, at the session's next seq. Serialised like a send (the user's lock, then the
 * session row), and counted against the same pending-replies cap.
 */
@Injectable()
export class RegenerationRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
    private readonly sessions: SessionRepository,
  ) {}

  async appendSibling(input: RegenerateInput): Promise<RegenerateResult> {
    const result = await transaction(this.db, async (tx): Promise<RegenerateResult> => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`pending:${input.ownerId}`]);
      if ((await this.sessions.lockOwnedInTransaction(tx, input.sessionId, input.ownerId)) === null) {
        return { outcome: 'session_gone' };
      }
      const found: MessageRow[] = await tx.query(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND id = $2 AND role = 'assistant'`,
        [input.sessionId, input.replyId],
      );
      const original = found[0] ? toMessage(found[0]) : null;
      if (original === null) {
        return { outcome: 'reply_not_found' };
      }
      if (!TERMINAL_STATUSES.includes(original.status)) {
        return { outcome: 'reply_not_finished' };
      }
      const open: Array<{ open: number }> = await tx.query(
        `SELECT count(*)::int AS open FROM (
           SELECT 1 FROM messages WHERE owner_id = $1 AND ${OPEN_REPLY} LIMIT $2
         ) open_replies`,
        [input.ownerId, input.maxPendingReplies],
      );
      if ((open[0]?.open ?? 0) >= input.maxPendingReplies) {
        return { outcome: 'too_many_pending' };
      }
      const seq = await this.sessions.allocateSeqsInTransaction(tx, input.sessionId, 1);
      const rows: MessageRow[] = await tx.query(
        `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id, request_id)
         VALUES ($1, $2, $3, $4, 'assistant', '', 'pending', $5, $5, $6) RETURNING ${MESSAGE_COLUMNS}`,
        [randomUUID(), input.sessionId, input.ownerId, seq, original.replyTo, input.requestId],
      );
      return { outcome: 'created', reply: toMessage(rows[0] as MessageRow) };
    });
    if (result.outcome === 'created') {
      await this.changes.historyChanged(input.sessionId);
      await this.changes.sessionsChanged(input.ownerId, input.sessionId);
    }
    return result;
  }
}
