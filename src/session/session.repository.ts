import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
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
    await this.changes.sessionsChanged(ownerId, id);
    await this.changes.historyChanged(id);
    return true;
  }
}
