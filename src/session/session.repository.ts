import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { ReplyMode, SessionEntity } from './session.entity.js';
import { transaction } from '../database/pipelined-transaction.js';

interface SessionRow {
  id: string;
  owner_id: string;
  title: string | null;
  last_seq: number;
  message_count: number;
  reply_mode: ReplyMode;
  created_at: Date;
  updated_at: Date;
}

/** A position in an owner's list: the last activity and id of the last session seen. */
export interface SessionCursor {
  updatedAt: Date;
  id: string;
}

const COLUMNS = 'id, owner_id, title, last_seq, message_count, reply_mode, created_at, updated_at';

export function toSession(row: SessionRow): SessionEntity {
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    lastSeq: row.last_seq,
    messageCount: row.message_count,
    replyMode: row.reply_mode,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Inserts a session unless its owner already keeps `max`; answers the new row or null. Concurrent
 * creations of one owner (on any replica, by either route that creates sessions) are serialised by
 * a transaction-scoped advisory lock, so the count and the insert cannot interleave and the cap
 * holds exactly. Must run inside a transaction; it takes no other lock after this one.
 */
async function insertSessionUnderCap(
  tx: EntityManager,
  session: { id: string; ownerId: string; title: string | null; replyMode?: ReplyMode },
  max: number,
): Promise<SessionEntity | null> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`sessions:${session.ownerId}`]);
  const rows: SessionRow[] = await tx.query(
    `INSERT INTO sessions (id, owner_id, title, reply_mode)
     SELECT $1::uuid, $2::varchar, $3::varchar, $5::varchar
     WHERE (SELECT count(*) FROM sessions WHERE owner_id = $2::varchar) < $4::int
     RETURNING ${COLUMNS}`,
    [session.id, session.ownerId, session.title, max, session.replyMode ?? 'each'],
  );
  return rows[0] ? toSession(rows[0]) : null;
}

/**
 * The statement that hands out the next seqs of a session (row locked by the caller's transaction)
 * and counts them as messages, returning the last of them as `last_seq`; `id` and `count` are the
 * placeholders of its parameters, `guard` a further condition (none: the session's row alone). A
 * send runs it inside its insert (a CTE), in one round trip; with a guard that fails it hands out
 * nothing, and the insert then stores nothing.
 */
export function allocateSeqsSql(id: string, count: string, guard?: string): string {
  return `UPDATE sessions SET last_seq = last_seq + ${count}, message_count = message_count + ${count},
         updated_at = date_trunc('milliseconds', now())
       WHERE id = ${id}${guard === undefined ? '' : ` AND (${guard})`} RETURNING last_seq`;
}

/** The owner's session row, locked until the transaction ends ($1 the session, $2 its owner). */
export const LOCK_OWNED_SESSION_SQL = 'SELECT reply_mode FROM sessions WHERE id = $1 AND owner_id = $2 FOR UPDATE';

/** Every query on `sessions`. Owner-scoped writes carry the owner in their WHERE clause too. */
@Injectable()
export class SessionRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  /** A new session of the owner, or null when they already keep `max` sessions. */
  async create(
    ownerId: string,
    title: string | null,
    max: number,
    replyMode: ReplyMode = 'each',
  ): Promise<SessionEntity | null> {
    const session = await transaction(this.db, (tx) =>
      insertSessionUnderCap(tx, { id: randomUUID(), ownerId, title, replyMode }, max),
    );
    if (session !== null) {
      await this.changes.sessionsChanged(ownerId, session.id);
    }
    return session;
  }

  /**
   * In the caller's transaction: creates the session for a send that names none, unless the owner
   * already keeps `max` (null then). Its cache versions move when the caller's transaction has
   * committed (the send tells the ChangeNotifier).
   */
  insertUnderCapInTransaction(
    tx: EntityManager,
    session: { id: string; ownerId: string; title: string | null },
    max: number,
  ): Promise<SessionEntity | null> {
    return insertSessionUnderCap(tx, session, max);
  }

  /**
   * In the caller's transaction: locks the owner's session row until it commits, which serialises
   * the sends of one session. Null when the session is gone (or never was the owner's); otherwise
   * what the send needs of it (its reply mode).
   */
  async lockOwnedInTransaction(
    tx: EntityManager,
    id: string,
    ownerId: string,
  ): Promise<{ replyMode: ReplyMode } | null> {
    const locked: Array<{ reply_mode: ReplyMode }> = await tx.query(LOCK_OWNED_SESSION_SQL, [id, ownerId]);
    return locked[0] ? { replyMode: locked[0].reply_mode } : null;
  }

  /**
   * In the caller's transaction, with the row locked: hands out the next `count` seqs of the
   * session and counts them as messages. Returns the last of them.
   */
  async allocateSeqsInTransaction(tx: EntityManager, id: string, count: number): Promise<number> {
    const [rows]: [Array<{ last_seq: number }>, number] = await tx.query(allocateSeqsSql('$1', '$2'), [id, count]);
    const last = rows[0];
    if (last === undefined) {
      throw new Error(`session ${id} vanished under its row lock`);
    }
    return last.last_seq;
  }

  async findById(id: string): Promise<SessionEntity | null> {
    const rows: SessionRow[] = await this.db.query(`SELECT ${COLUMNS} FROM sessions WHERE id = $1`, [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  /**
   * Most recent activity first (a send or a rename moves a session to the top); `after` continues
   * a previous page. Returns one row more than asked to detect more.
   */
  async listByOwner(ownerId: string, limit: number, after: SessionCursor | null): Promise<SessionEntity[]> {
    const rows: SessionRow[] = after
      ? await this.db.query(
          `SELECT ${COLUMNS} FROM sessions WHERE owner_id = $1 AND (updated_at, id) < ($2::timestamptz, $3::uuid)
           ORDER BY updated_at DESC, id DESC LIMIT $4`,
          [ownerId, after.updatedAt, after.id, limit + 1],
        )
      : await this.db.query(
          `SELECT ${COLUMNS} FROM sessions WHERE owner_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2`,
          [ownerId, limit + 1],
        );
    return rows.map(toSession);
  }

  /** Changes what is given (undefined: kept). */
  async update(
    id: string,
    ownerId: string,
    changes: { title?: string | null; replyMode?: ReplyMode },
  ): Promise<SessionEntity | null> {
    const [rows]: [SessionRow[], number] = await this.db.query(
      `UPDATE sessions SET title = CASE WHEN $3 THEN $4 ELSE title END, reply_mode = COALESCE($5, reply_mode),
         updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND owner_id = $2 RETURNING ${COLUMNS}`,
      [id, ownerId, changes.title !== undefined, changes.title ?? null, changes.replyMode ?? null],
    );
    if (!rows[0]) {
      return null;
    }
    await this.changes.sessionsChanged(ownerId, id);
    return toSession(rows[0]);
  }

  /** Deletes the session and, by cascade, its messages. */
  async delete(id: string, ownerId: string): Promise<boolean> {
    const [, count]: [unknown, number] = await this.db.query('DELETE FROM sessions WHERE id = $1 AND owner_id = $2', [
      id,
      ownerId,
    ]);
    if (count === 0) {
      return false;
    }
    // One bump: the session's counters cover its row, its messages and its existence.
    await this.changes.sessionDeleted(ownerId, id);
    return true;
  }
}
