import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { MemoryEntity, MemorySource } from './memory.entity.js';
import { transaction } from '../database/pipelined-transaction.js';

interface MemoryRow {
  id: string;
  owner_id: string;
  content: string;
  source: MemorySource;
  session_id: string | null;
  message_id: string | null;
  created_at: Date;
}

const COLUMNS = 'id, owner_id, content, source, session_id, message_id, created_at';
/** Must be the configuration the migration derives `search` with. */
const TS_CONFIG = `'english'::regconfig`;

/** A position in an owner's newest-first list: the last memory seen. */
export interface MemoryCursor {
  createdAt: Date;
  id: string;
}

function toMemory(row: MemoryRow): MemoryEntity {
  return {
    id: row.id,
    ownerId: row.owner_id,
    content: row.content,
    source: row.source,
    sessionId: row.session_id,
    messageId: row.message_id,
    createdAt: row.created_at,
  };
}

/** Every query on `memories`. Every read and write is scoped by owner in its WHERE clause. */
@Injectable()
export class MemoryRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  /**
   * Stores a memory unless the owner already keeps `max`; then answers null. Concurrent writes of
   * one owner are serialised by a transaction-scoped advisory lock (on every replica alike), so the
   * count and the insert cannot interleave and the cap holds exactly.
   */
  async create(ownerId: string, content: string, source: MemorySource, max: number): Promise<MemoryEntity | null> {
    const rows: MemoryRow[] = await transaction(this.db, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`memories:${ownerId}`]);
      return tx.query(
        `INSERT INTO memories (id, owner_id, content, source)
         SELECT $1::uuid, $2::varchar, $3::text, $4::varchar
         WHERE (SELECT count(*) FROM memories WHERE owner_id = $2::varchar) < $5::int
         RETURNING ${COLUMNS}`,
        [randomUUID(), ownerId, content, source, max],
      );
    });
    if (rows[0] === undefined) {
      return null;
    }
    await this.changes.memoriesChanged(ownerId);
    return toMemory(rows[0]);
  }

  /** Newest first; `after` continues from the last memory of a previous page. */
  async listRecent(ownerId: string, limit: number, after: MemoryCursor | null = null): Promise<MemoryEntity[]> {
    const rows: MemoryRow[] = after
      ? await this.db.query(
          `SELECT ${COLUMNS} FROM memories WHERE owner_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
           ORDER BY created_at DESC, id DESC LIMIT $4`,
          [ownerId, after.createdAt, after.id, limit],
        )
      : await this.db.query(
          `SELECT ${COLUMNS} FROM memories WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
          [ownerId, limit],
        );
    return rows.map(toMemory);
  }

  /**
   * The owner's memories matching a web-search style query (one built by websearchQuery()), most
   * relevant first, from `offset` on: a ranked order has no key to continue from, and an owner's
   * memories are few (MAX_MEMORIES_PER_USER).
   */
  async search(ownerId: string, query: string, limit: number, offset = 0): Promise<MemoryEntity[]> {
    const rows: MemoryRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM memories, websearch_to_tsquery(${TS_CONFIG}, $2) AS tsq
       WHERE owner_id = $1 AND search @@ tsq
       ORDER BY ts_rank(search, tsq) DESC, created_at DESC, id DESC LIMIT $3 OFFSET $4`,
      [ownerId, query, limit, offset],
    );
    return rows.map(toMemory);
  }

  /** Matches first (most relevant first), then the most recent of the rest. */
  async searchOrRecent(ownerId: string, query: string, limit: number): Promise<MemoryEntity[]> {
    const rows: MemoryRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM memories, websearch_to_tsquery(${TS_CONFIG}, $2) AS tsq
       WHERE owner_id = $1
       ORDER BY (search @@ tsq) DESC, ts_rank(search, tsq) DESC, created_at DESC, id DESC LIMIT $3`,
      [ownerId, query, limit],
    );
    return rows.map(toMemory);
  }

  async delete(id: string, ownerId: string): Promise<boolean> {
    const [rows]: [Array<{ id: string }>, number] = await this.db.query(
      'DELETE FROM memories WHERE id = $1 AND owner_id = $2 RETURNING id',
      [id, ownerId],
    );
    if (rows.length === 0) {
      return false;
    }
    await this.changes.memoriesChanged(ownerId);
    return true;
  }

  /** Forgets everything about the owner; returns how many memories were deleted. */
  async deleteAllByOwner(ownerId: string): Promise<number> {
    const [rows]: [Array<{ id: string }>, number] = await this.db.query(
      'DELETE FROM memories WHERE owner_id = $1 RETURNING id',
      [ownerId],
    );
    if (rows.length > 0) {
      await this.changes.memoriesChanged(ownerId);
    }
    return rows.length;
  }
}
