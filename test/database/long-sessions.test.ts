import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { NoChangeNotifier } from '../../src/common/change-notifier.port.js';
import { runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import {
  EXCHANGE_BY_CLIENT_ID_SQL,
  MessageRepository,
  PLAIN_EXCHANGE_SQL,
} from '../../src/messages/message.repository.js';
import { ReplyRepository } from '../../src/replies/reply.repository.js';
import { SessionRepository } from '../../src/session/session.repository.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

/** Exchanges already in the long session: each a keyed user message and its reply. */
const EXCHANGES = 1500;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** The pages of tables and indexes a plan read, its children's included. */
function pagesRead(plan: PlanNode): number {
  return (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
}

/** `own` of every node of the plan, summed: the node's and its children's, all the way down. */
function sumOverPlan(node: PlanNode, own: (node: PlanNode) => number): number {
  return own(node) + (node.Plans ?? []).reduce((sum, child) => sum + sumOverPlan(child, own), 0);
}

/** Rows of `messages` the plan's nodes on that table produced or read and threw away. */
function messageRowsTouched(plan: PlanNode): number {
  return sumOverPlan(plan, (node) =>
    node['Relation Name'] === 'messages'
      ? ((node['Actual Rows'] ?? 0) +
          (node['Rows Removed by Filter'] ?? 0) +
          (node['Rows Removed by Index Recheck'] ?? 0)) *
        (node['Actual Loops'] ?? 1)
      : 0,
  );
}

/** The messages a statement's walk up a branch visited: the rows of its recursive part. */
function messagesWalked(plan: PlanNode): number {
  return sumOverPlan(plan, (node) =>
    node['Node Type'] === 'Recursive Union' ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0,
  );
}

/**
 * What every send, every history read that misses the cache and every reply's prompt reads must
 * cost the same whatever the session's length: a conversation that has run for months holds
 * thousands of messages. Each statement is run here in such a session, and its plan (EXPLAIN
 * ANALYZE of the statement the repository sent) must read a few rows of it, not all of them.
 */
describe('a long session', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let messages: MessageRepository;
  let replies: ReplyRepository;
  /** The statements the repositories sent, with their parameters. */
  const sent: Array<{ sql: string; params: unknown[] }> = [];
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
    replies = new ReplyRepository(dataSource, changes);
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
    // Other users' replies still to generate: a busy system's backlog, 4,000 of them.
    await dataSource.query(
      `WITH ids AS (SELECT n, md5('busy-' || $1 || '-' || n) AS s FROM generate_series(1, 4000) n),
       sessions AS (
         INSERT INTO sessions (id, owner_id, last_seq, message_count) SELECT s::uuid, 'busy-' || n, 2, 2 FROM ids
       )
       INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
       SELECT md5(s || '-q')::uuid, s::uuid, 'busy-' || n, 1, 'user', 'hello', 'complete', NULL, NULL FROM ids
       UNION ALL
       SELECT md5(s || '-a')::uuid, s::uuid, 'busy-' || n, 2, 'assistant', '', 'pending', md5(s || '-q')::uuid, md5(s || '-q')::uuid
       FROM ids`,
      [sessionId],
    );
    // Every tenth reply failed without text: not part of a prompt, nor counted towards its size.
    await dataSource.query(
      `UPDATE messages SET status = 'failed', content = '' WHERE session_id = $1 AND role = 'assistant' AND seq % 20 = 10`,
      [sessionId],
    );
    await dataSource.query('ANALYZE messages');
    const query = dataSource.query.bind(dataSource);
    dataSource.query = ((sql: string, params?: unknown[]) => {
      sent.push({ sql, params: params ?? [] });
      return query(sql, params);
    }) as typeof dataSource.query;
  });

  /** The plan of `sql` run with `params`, as PostgreSQL ran it. */
  async function planOf(sql: string, params: unknown[]): Promise<PlanNode> {
    const rows = await dataSource.query<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
      params,
    );
    const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
    if (plan === undefined) {
      throw new Error('EXPLAIN returned no plan');
    }
    return plan;
  }

  /** Runs `read` and returns what it answered and the plan of the one statement it sent. */
  async function readAndPlan<T>(read: () => Promise<T>): Promise<{ value: T; plan: PlanNode }> {
    sent.length = 0;
    const value = await read();
    expect(sent).toHaveLength(1);
    const [statement] = sent;
    return { value, plan: await planOf(statement?.sql ?? '', statement?.params ?? []) };
  }

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

  it("finds a send's key and its replies through indexes: a few rows read, not the whole session", async () => {
    // The keyed message, its two replies and the index look-ups for them: far from 3,001 rows.
    expect(messageRowsTouched(await planOf(EXCHANGE_BY_CLIENT_ID_SQL, [sessionId, 'k-700']))).toBeLessThan(20);
    // A new key (the usual send) finds nothing, and reads next to nothing to learn it.
    expect(
      messageRowsTouched(await planOf(EXCHANGE_BY_CLIENT_ID_SQL, [sessionId, `k-new-${randomUUID()}`])),
    ).toBeLessThan(5);
  });

  it("checks a plain send's key, its owner's pending replies and its parent through indexes, and stores it", async () => {
    // Run and rolled back: the plan of the statement as a send runs it, behind the same locks.
    const runner = dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      const rows = await runner.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${PLAIN_EXCHANGE_SQL}`, [
        randomUUID(),
        randomUUID(),
        sessionId,
        ownerId,
        'a new question',
        `k-new-${randomUUID()}`,
        'req-plain',
        10,
      ]);
      const plan = (rows as Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>)[0]?.['QUERY PLAN'][0]?.Plan;
      expect(plan?.['Actual Rows']).toBe(2);
      // The key and the parent are index look-ups in the session, not a walk through its 3,001
      // rows. (The owner's pending count, the full transaction's subquery as it was, is planned as
      // a scan here, in both statements: a third of all rows are other users' pending replies.)
      const lookups: PlanNode[] = [];
      const visit = (node: PlanNode): void => {
        if (node['Relation Name'] === 'messages' && node['Index Name'] !== undefined) {
          lookups.push(node);
        }
        (node.Plans ?? []).forEach(visit);
      };
      visit(plan as PlanNode);
      expect(lookups.map((node) => node['Index Name']).sort()).toEqual([
        'messages_client_message_id',
        'messages_session_seq',
      ]);
      expect(lookups.reduce((sum, node) => sum + messageRowsTouched(node), 0)).toBeLessThan(5);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });

  it('reads the newest history page of the newest branch by walking up only as far as the page', async () => {
    const { value, plan } = await readAndPlan(() => messages.listBranch(sessionId, null, 20, null));
    // The newest message is the reply regenerated for message 700: its branch goes on from there.
    expect(value?.map((m) => m.seq)).toEqual([...Array.from({ length: 20 }, (_, i) => 1380 + i), 2 * EXCHANGES + 1]);
    expect(value?.at(-1)?.id).toBe(keyed.regenerated);
    expect(value?.at(-1)?.siblingCount).toBe(2);
    // The 21 messages of the page: not the 1,400 of the branch.
    expect(messagesWalked(plan)).toBe(21);
  });

  it('reads an older page as far down as that page, and no further', async () => {
    const leaf = randomUUIDOf(EXCHANGES, 'a');
    const { value, plan } = await readAndPlan(() => messages.listBranch(sessionId, leaf, 20, 2001));
    expect(value?.map((m) => m.seq)).toEqual(Array.from({ length: 21 }, (_, i) => 1980 + i));
    // From the leaf (seq 3,000) down to the page's oldest message: not the whole branch.
    expect(messagesWalked(plan)).toBe(3000 - 1980 + 1);
  });

  /** More tokens than any branch of the session holds: the walk never looks for a summary. */
  const ALL_TOKENS = 1_000_000;

  it('builds a prompt from the newest messages shown to the user, walking up only as far as it needs', async () => {
    const question = randomUUIDOf(EXCHANGES, 'q');
    const { value, plan } = await readAndPlan(() => replies.branchEndingAt(question, 10, ALL_TOKENS));
    // Oldest first, ending with the question; the reply that failed without text (seq 2,990) is left out.
    expect(value.map((m) => m.seq)).toEqual([2989, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999]);
    // Down to the tenth message shown, past the failed reply: 11 messages, not 2,999.
    expect(messagesWalked(plan)).toBe(11);
    // A limit above the branch's length: every shown message of the branch, down to the root.
    const whole = await replies.branchEndingAt(question, 10_000, ALL_TOKENS);
    expect(whole).toHaveLength(2 * EXCHANGES - 1 - Math.floor(EXCHANGES / 10));
    expect(whole[0]?.seq).toBe(1);
  });

  it('reads a prompt down to the newest summary past its budget, and no further', async () => {
    const question = randomUUIDOf(EXCHANGES, 'q');
    // Summaries through questions 1,000 (seq 1,999), 1,400 (seq 2,799) and 1,498 (seq 2,995).
    const through = [1000, 1400, 1498];
    // The newest 500 messages shown, read while no summary exists.
    const whole = await replies.branchEndingAt(question, 500, ALL_TOKENS);
    await dataSource.query(
      `INSERT INTO session_summaries (session_id, from_seq, through_seq, through_message_id, content)
       SELECT $1::uuid, n, 2 * n - 1, md5($1::text || '-q-' || n)::uuid, 'up to ' || n FROM unnest($2::int[]) n`,
      [sessionId, through],
    );
    try {
      // 200 tokens are about 27 messages ('question 1480' is 8 tokens, 'answer 1480' 7): the one of
      // seq 2,995 is inside them, so the walk goes on to the next summarised message, seq 2,799.
      const { value, plan } = await readAndPlan(() => replies.branchEndingAt(question, 500, 200));
      expect(value[0]?.seq).toBe(2799);
      expect(value).toEqual(whole.filter((m) => m.seq >= 2799));
      expect(messagesWalked(plan)).toBe(2999 - 2799 + 1);
      // A summary's own walk (no budget): down to the newest summarised message.
      const { value: forSummary, plan: summaryPlan } = await readAndPlan(() =>
        replies.branchEndingAt(question, 500, 0),
      );
      expect(forSummary.map((m) => m.seq)).toEqual([2995, 2996, 2997, 2998, 2999]);
      expect(messagesWalked(summaryPlan)).toBe(5);
      // A budget that no summarised message is past: the same walk as without summaries.
      const { value: unsummarised, plan: wholePlan } = await readAndPlan(() =>
        replies.branchEndingAt(question, 500, 100_000),
      );
      expect(unsummarised).toEqual(whole);
      expect(messagesWalked(wholePlan)).toBe(2999 - (whole[0]?.seq ?? 0) + 1);
    } finally {
      await dataSource.query('DELETE FROM session_summaries WHERE session_id = $1', [sessionId]);
    }
  });

  it("finds a session's next open reply in its own few pages, however long the session and the backlog", async () => {
    const { value, plan } = await readAndPlan(() => replies.nextOpenReply(sessionId));
    expect(value).toBeNull();
    // Neither the session's 3,001 messages nor the 4,000 open replies of other sessions.
    expect(pagesRead(plan)).toBeLessThan(10);
    const { value: claimed, plan: claimPlan } = await readAndPlan(() => replies.claimNextReply(sessionId, Date.now()));
    expect(claimed).toBeNull();
    expect(pagesRead(claimPlan)).toBeLessThan(15);
  });

  /** The id the set-up gave exchange `i`'s question (q) or answer (a), exchange 700 aside. */
  function randomUUIDOf(i: number, kind: 'q' | 'a'): string {
    const hex = createHash('md5').update(`${sessionId}-${kind}-${i}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
});
