import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { Fact } from './extraction/fact.js';
import { transaction } from '../database/pipelined-transaction.js';

export type FactResult = 'stored' | 'deduplicated' | 'skipped';

export interface ExtractionResult {
  /** false: this message was extracted before (a job delivered twice), nothing was written. */
  readonly first: boolean;
  readonly facts: readonly FactResult[];
  /** Older extracted memories replaced by a newer fact on the same topic. */
  readonly replaced: number;
  /** Oldest extracted memories evicted to keep MAX_MEMORIES_PER_USER. */
  readonly evicted: number;
}

export interface ExtractionSource {
  readonly ownerId: string;
  readonly sessionId: string;
  readonly messageId: string;
}

/** Records a message as extracted (`stored` 0 until facts are); no row back: it was before. */
const CLAIM =
  'INSERT INTO memory_extractions (message_id, owner_id) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING RETURNING message_id';

/**
 * Writes of memory extraction. The message is recorded in `memory_extractions` first, so a second
 * delivery of the same job writes nothing. With facts to store, one transaction per user message
 * under the owner's advisory lock (the lock typed memories take too): deduplication, replacement
 * and the cap see every other write of the owner in order. With none, the record is all there is.
 */
@Injectable()
export class MemoryExtractionRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  async wasExtracted(messageId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM memory_extractions WHERE message_id = $1', [messageId]);
    return rows.length > 0;
  }

  /**
   * Records a message as extracted with nothing stored (the model's answer was unusable), so the
   * reconciler does not ask the model about it again and again.
   */
  async markExtracted(source: ExtractionSource): Promise<void> {
    await this.db.query(CLAIM, [source.messageId, source.ownerId]);
  }

  async store(source: ExtractionSource, facts: readonly Fact[], max: number): Promise<ExtractionResult> {
    if (facts.length === 0) {
      // Nothing to write under the owner's lock: claiming the message is the one statement (most
      // messages hold no durable fact).
      const claimed: unknown[] = await this.db.query(CLAIM, [source.messageId, source.ownerId]);
      return { first: claimed.length > 0, facts: [], replaced: 0, evicted: 0 };
    }
    const result = await transaction(this.db, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`memories:${source.ownerId}`]);
      const claimed: unknown[] = await tx.query(CLAIM, [source.messageId, source.ownerId]);
      if (claimed.length === 0) {
        return { first: false, facts: [], replaced: 0, evicted: 0 };
      }
      const outcome = { first: true, facts: [] as FactResult[], replaced: 0, evicted: 0 };
      for (const fact of facts) {
        outcome.facts.push(await this.storeFact(tx, source, fact, max, outcome));
      }
      const stored = outcome.facts.filter((f) => f === 'stored').length;
      if (stored > 0) {
        await tx.query('UPDATE memory_extractions SET stored = $2 WHERE message_id = $1', [source.messageId, stored]);
      }
      return outcome;
    });
    if (result.facts.includes('stored')) {
      await this.changes.memoriesChanged(source.ownerId);
    }
    return result;
  }

  private async storeFact(
    tx: EntityManager,
    source: ExtractionSource,
    fact: Fact,
    max: number,
    outcome: { replaced: number; evicted: number },
  ): Promise<FactResult> {
    const same: unknown[] = await tx.query(
      `SELECT 1 FROM memories
       WHERE owner_id = $1 AND md5(normalized) = md5(btrim(regexp_replace(lower($2::text), '[^[:alnum:]]+', ' ', 'g')))
       LIMIT 1`,
      [source.ownerId, fact.text],
    );
    if (same.length > 0) {
      return 'deduplicated';
    }
    if (fact.topic !== null) {
      // A newer fact on the topic replaces what was extracted before; what the user typed stays.
      const [replaced]: [unknown[], number] = await tx.query(
        `DELETE FROM memories WHERE owner_id = $1 AND source = 'extracted' AND topic = $2 RETURNING id`,
        [source.ownerId, fact.topic],
      );
      outcome.replaced += replaced.length;
    }
    const counted: Array<{ count: number }> = await tx.query(
      'SELECT count(*)::int AS count FROM memories WHERE owner_id = $1',
      [source.ownerId],
    );
    const count = counted[0]?.count ?? 0;
    if (count >= max) {
      const [evicted]: [unknown[], number] = await tx.query(
        `DELETE FROM memories WHERE id IN (
           SELECT id FROM memories WHERE owner_id = $1 AND source = 'extracted'
           ORDER BY created_at, id LIMIT $2
         ) RETURNING id`,
        [source.ownerId, count - max + 1],
      );
      outcome.evicted += evicted.length;
      if (count - evicted.length >= max) {
        return 'skipped';
      }
    }
    await tx.query(
      `INSERT INTO memories (id, owner_id, content, source, session_id, message_id, topic)
       VALUES ($1, $2, $3, 'extracted', $4, $5, $6)`,
      [randomUUID(), source.ownerId, fact.text, source.sessionId, source.messageId, fact.topic],
    );
    return 'stored';
  }
}
