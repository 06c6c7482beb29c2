import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { SessionEntity } from './session.entity.js';

interface SessionRow {
  id: string;
  owner_id: string;
  title: string | null;
  last_seq: number;
  message_count: number;
  created_at: Date;
  updated_at: Date;
}

export interface SessionCursor {
  createdAt: Date;
  id: string;
}

const COLUMNS = 'id, owner_id, title, last_seq, message_count, created_at, updated_at';

export function toSession(row: SessionRow): SessionEntity {
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    lastSeq: row.last_seq,
    messageCount: row.message_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Every query on `sessions`. Owner-scoped writes carry the owner in their WHERE clause too. */
@Injectable()
export class SessionRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  async create(ownerId: string, title: string | null): Promise<SessionEntity> {
    const rows: SessionRow[] = await this.db.query(
      `INSERT INTO sessions (id, owner_id, title) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
      [randomUUID(), ownerId, title],
    );
    const session = toSession(rows[0] as SessionRow);
    await this.changes.sessionsChanged(ownerId, session.id);
    return session;
  }

  /**
   * In the caller's transaction: creates the session for a send that names none. Its cache
   * versions move when the caller's transaction has committed (the send tells the ChangeNotifier).
   */
  async insertInTransaction(tx: EntityManager, id: string, ownerId: string, title: string | null): Promise<void> {
    await tx.query('INSERT INTO sessions (id, owner_id, title) VALUES ($1, $2, $3)', [id, ownerId, title]);
  }

  /**
   * In the caller's transaction: locks the owner's session row until it commits, which serialises
   * the sends of one session. False when the session is gone (or never was the owner's).
   */
  async lockOwnedInTransaction(tx: EntityManager, id: string, ownerId: string): Promise<boolean> {
    const locked: Array<{ id: string }> = await tx.query(
      'SELECT id FROM sessions WHERE id = $1 AND owner_id = $2 FOR UPDATE',
      [id, ownerId],
    );
    return locked.length > 0;
  }

  /**
   * In the caller's transaction, with the row locked: hands out the next `count` seqs of the
   * session and counts them as messages. Returns the last of them.
   */
  async allocateSeqsInTransaction(tx: EntityManager, id: string, count: number): Promise<number> {
    const [rows]: [Array<{ last_seq: number }>, number] = await tx.query(
      `UPDATE sessions SET last_seq = last_seq + $2, message_count = message_count + $2,
         updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 RETURNING last_seq`,
      [id, count],
    );
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

  /** Newest first; `after` continues a previous page. Returns one row more than asked to detect more. */
  async listByOwner(ownerId: string, limit: number, after: SessionCursor | null): Promise<SessionEntity[]> {
    const rows: SessionRow[] = after
      ? await this.db.query(
          `SELECT ${COLUMNS} FROM sessions WHERE owner_id = $1 AND (created_at, id) < ($2, $3)
           ORDER BY created_at DESC, id DESC LIMIT $4`,
          [ownerId, after.createdAt, after.id, limit + 1],
        )
      : await this.db.query(
          `SELECT ${COLUMNS} FROM sessions WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
          [ownerId, limit + 1],
        );
    return rows.map(toSession);
  }

  async rename(id: string, ownerId: string, title: string): Promise<SessionEntity | null> {
    const [rows]: [SessionRow[], number] = await this.db.query(
      `UPDATE sessions SET title = $3, updated_at = date_trunc('milliseconds', now())
       WHERE id = $1 AND owner_id = $2 RETURNING ${COLUMNS}`,
      [id, ownerId, title],
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
    // One bump: the session's counter covers its row and its messages.
    await this.changes.sessionsChanged(ownerId, id);
    return true;
  }
}
