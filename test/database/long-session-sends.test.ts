import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { NoChangeNotifier } from '../../src/common/change-notifier.port.js';
import { runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { EXCHANGE_BY_CLIENT_ID_SQL, MessageRepository } from '../../src/messages/message.repository.js';
import { SessionRepository } from '../../src/session/session.repository.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

/** Exchanges already in the long session: each a keyed user message and its reply. */
const EXCHANGES = 1500;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows of `messages` the plan's nodes on that table produced or read and threw away. */
function messageRowsTouched(node: PlanNode): number {
  const own =
    node['Relation Name'] === 'messages'
      ? ((node['Actual Rows'] ?? 0) +
          (node['Rows Removed by Filter'] ?? 0) +
          (node['Rows Removed by Index Recheck'] ?? 0)) *
        (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + messageRowsTouched(child), 0);
}

/**
 * A send with an idempotency key looks its key up in the send's own transaction, on every send.
 * The cost of that look-up must not grow with the session: a session that has run for months
 * holds thousands of messages.
 */
describe('a keyed send in a long session', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let messages: MessageRepository;
  const ownerId = `long-${randomUUID()}`;
  const sessionId = randomUUID();
  /** The exchange stored under key `k-700`, and the reply regenerated for it later. */
  const keyed = { message: randomUUID(), reply: randomUUID(), regenerated: randomUUID() };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [], migrations: MIGRATIONS, poolSize: 4 });
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    const changes = new NoChangeNotifier();
    messages = new MessageRepository(dataSource, changes, new SessionRepository(dataSource, changes));
    const lastSeq = 2 * EXCHANGES + 1;
    await dataSource.query('INSERT INTO sessions (id, owner_id, last_seq, message_count) VALUES ($1, $2, $3, $3)', [
      sessionId,
      ownerId,
      lastSeq,
    ]);
    // Exchange i: the user message at seq 2i-1 (key k-i, continuing the reply before it), its
    // reply at 2i; one statement, so that the references are checked once both rows are in.
    await dataSource.query(
      `WITH ids AS (
         SELECT i,
           CASE WHEN i = 700 THEN $3::uuid ELSE md5($1 || '-q-' || i)::uuid END AS question,
           CASE WHEN i = 700 THEN $4::uuid ELSE md5($1 || '-a-' || i)::uuid END AS answer
         FROM generate_series(1, $5::int) i
       )
       INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id, client_message_id)
       SELECT q.question, $1::uuid, $2, 2 * q.i - 1, 'user', 'question ' || q.i, 'complete', NULL, p.answer, 'k-' || q.i
       FROM ids q LEFT JOIN ids p ON p.i = q.i - 1
       UNION ALL
       SELECT answer, $1::uuid, $2, 2 * i, 'assistant', 'answer ' || i, 'complete', question, question, NULL
       FROM ids`,
      [sessionId, ownerId, keyed.message, keyed.reply, EXCHANGES],
    );
    await dataSource.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
       VALUES ($1, $2, $3, $4, 'assistant', 'answer 700 again', 'complete', $5, $5)`,
      [keyed.regenerated, sessionId, ownerId, lastSeq, keyed.message],
    );
    await dataSource.query('ANALYZE messages');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('repeats the stored exchange: its message and its first reply, not a later one', async () => {
    const result = await messages.appendExchange({
      sessionId,
      ownerId,
      content: 'question 700',
      clientMessageId: 'k-700',
      requestId: 'req-repeat',
      maxPendingReplies: 3,
    });
    expect(result.outcome).toBe('repeated');
    const exchange = result.outcome === 'repeated' ? result.exchange : undefined;
    expect(exchange?.message.id).toBe(keyed.message);
    expect(exchange?.reply.id).toBe(keyed.reply);
    // Another body under the same key is refused, found by the same look-up.
    const reused = await messages.appendExchange({
      sessionId,
      ownerId,
      content: 'something else',
      clientMessageId: 'k-700',
      requestId: 'req-reused',
      maxPendingReplies: 3,
    });
    expect(reused.outcome).toBe('key_reused');
  });

  it('finds the key and its replies through indexes: a few rows read, not the whole session', async () => {
    const explain = async (key: string): Promise<PlanNode> => {
      const rows = await dataSource.query<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${EXCHANGE_BY_CLIENT_ID_SQL}`,
        [sessionId, key],
      );
      const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
      if (plan === undefined) {
        throw new Error('EXPLAIN returned no plan');
      }
      return plan;
    };
    // The keyed message, its two replies and the index look-ups for them: far from 3,001 rows.
    expect(messageRowsTouched(await explain('k-700'))).toBeLessThan(20);
    // A new key (the usual send) finds nothing, and reads next to nothing to learn it.
    expect(messageRowsTouched(await explain(`k-new-${randomUUID()}`))).toBeLessThan(5);
  });
});
