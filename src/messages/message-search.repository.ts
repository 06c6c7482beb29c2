import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MessageRole } from '../conversation/message.entity.js';

/** Where the previous page ended: rank, then newest first, then id. */
export interface SearchPosition {
  rank: number;
  createdAt: Date;
  id: string;
}

export interface MessageHit extends SearchPosition {
  sessionId: string;
  seq: number;
  role: MessageRole;
  snippet: string;
}

interface HitRow {
  id: string;
  session_id: string;
  seq: number;
  role: MessageRole;
  created_at: Date;
  rank: number;
  snippet: string;
}

/** Must be the expression the migration indexes (messages_search). */
const DOCUMENT = `to_tsvector('english'::regconfig, m.content)`;
const HEADLINE = `'MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … ", StartSel=**, StopSel=**'`;
/** Only text that will not change: a user's message, a finished reply. */
const SEARCHABLE = `m.status IN ('complete', 'stopped')`;

/**
 * Full-text search over one owner's messages in all their sessions. Scoped by owner in the WHERE
 * clause; a deleted session's messages are gone with it (ON DELETE CASCADE).
 */
@Injectable()
export class MessageSearchRepository {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  /** The owner's messages matching a web-search style query, most relevant first, after `after`. */
  async search(ownerId: string, query: string, limit: number, after: SearchPosition | null): Promise<MessageHit[]> {
    // The rank is cast to real in the inner query, so a cursor's rank compares exactly.
    const rows: HitRow[] = await this.db.query(
      `SELECT hit.id, hit.session_id, hit.seq, hit.role, hit.created_at, hit.rank,
              ts_headline('english'::regconfig, hit.content, hit.tsq, ${HEADLINE}) AS snippet
       FROM (
         SELECT m.id, m.session_id, m.seq, m.role, m.created_at, m.content, tsq,
                ts_rank(${DOCUMENT}, tsq)::real AS rank
         FROM messages m, websearch_to_tsquery('english'::regconfig, $2) AS tsq
         WHERE m.owner_id = $1 AND ${SEARCHABLE} AND ${DOCUMENT} @@ tsq
       ) hit
       WHERE $4::real IS NULL OR (hit.rank, hit.created_at, hit.id) < ($4::real, $5::timestamptz, $6::uuid)
       ORDER BY hit.rank DESC, hit.created_at DESC, hit.id DESC
       LIMIT $3`,
      [ownerId, query, limit, after?.rank ?? null, after?.createdAt ?? null, after?.id ?? null],
    );
    return rows.map((row) => ({
      id: row.id,
      sessionId: row.session_id,
      seq: row.seq,
      role: row.role,
      createdAt: row.created_at,
      rank: Number(row.rank),
      snippet: row.snippet,
    }));
  }
}
