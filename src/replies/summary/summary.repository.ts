import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface SessionSummary {
  readonly sessionId: string;
  readonly fromSeq: number;
  readonly throughSeq: number;
  readonly throughMessageId: string;
  readonly content: string;
}

interface SummaryRow {
  session_id: string;
  from_seq: number;
  through_seq: number;
  through_message_id: string;
  content: string;
}

const COLUMNS = 'session_id, from_seq, through_seq, through_message_id, content';

function toSummary(row: SummaryRow): SessionSummary {
  return {
    sessionId: row.session_id,
    fromSeq: row.from_seq,
    throughSeq: row.through_seq,
    throughMessageId: row.through_message_id,
    content: row.content,
  };
}

/** Every query on `session_summaries`. */
@Injectable()
export class SummaryRepository {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  /** The newest summary of the session whose last covered message is one of `branchIds`. */
  async latestOnBranch(sessionId: string, branchIds: readonly string[]): Promise<SessionSummary | null> {
    if (branchIds.length === 0) {
      return null;
    }
    const rows: SummaryRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM session_summaries
       WHERE session_id = $1 AND through_message_id = ANY($2::uuid[])
       ORDER BY through_seq DESC LIMIT 1`,
      [sessionId, branchIds],
    );
    return rows[0] ? toSummary(rows[0]) : null;
  }

  /** Fenced by `from_seq`: false when another worker already extended the same summary. */
  async insert(summary: SessionSummary): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO session_summaries (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (session_id, from_seq) DO NOTHING RETURNING from_seq`,
      [summary.sessionId, summary.fromSeq, summary.throughSeq, summary.throughMessageId, summary.content],
    );
    return rows.length > 0;
  }
}
