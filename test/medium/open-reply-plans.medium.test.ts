import pg from 'pg';
import { DataSource, type QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MessageService } from '../../src/messages/message.service.js';
import { ReplyRepository } from '../../src/replies/reply.repository.js';
import { createMediumApp, type MediumApp } from './medium.factory.js';

const BACKLOG = 3000;
/** A statement that finds its rows through an index reads a few dozen buffers; a scan of the backlog, thousands. */
const MAX_BUFFERS = 300;

interface Statement {
  sql: string;
  params: unknown[];
}

interface PlanNode {
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
}

/**
 * The statements of a reply's life that touch open replies, run while thousands of replies wait
 * and the planner's statistics were taken when none did (as after any VACUUM or ANALYZE between
 * bursts): each must still read a few rows, not every open reply.
 */
describe('open replies: the statements of a reply read a few rows, whatever the backlog the statistics missed', () => {
  let app: MediumApp;
  let db: DataSource;
  const captured: Statement[] = [];

  beforeAll(async () => {
    app = await createMediumApp({ APP_ROLE: 'api', MAX_PENDING_REPLIES: '50' });
    db = app.get(DataSource);
    await app.db.query('ALTER TABLE messages SET (autovacuum_enabled = false)');
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Every statement the app sends while `work` runs. */
  async function capturing(work: () => Promise<void>): Promise<void> {
    const create = db.createQueryRunner.bind(db);
    const spy = vi.spyOn(db, 'createQueryRunner').mockImplementation((mode) => {
      const runner = create(mode);
      const query = runner.query.bind(runner);
      runner.query = ((sql: string, params?: unknown[], ...rest: unknown[]) => {
        captured.push({ sql, params: params ?? [] });
        return (query as (...args: unknown[]) => Promise<unknown>)(sql, params, ...rest);
      }) as QueryRunner['query'];
      return runner;
    });
    try {
      await work();
    } finally {
      spy.mockRestore();
    }
  }

  /** The buffers a statement reads, run again under EXPLAIN ANALYZE in a transaction rolled back. */
  async function buffersOf(client: pg.Client, statement: Statement): Promise<number> {
    await client.query('BEGIN');
    try {
      const result = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.sql}`,
        statement.params,
      );
      const plan = result.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode;
      return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it('claims, retries, completes, fails, stops and supersedes a reply through its primary key, and finds the next by its session', async () => {
    const messages = app.get(MessageService);
    const replies = app.get(ReplyRepository);
    const session = await app.newSession('plans');
    const send = (content: string) => app.inRequest(() => messages.send({ ...session, content }));

    // A reply made before the statistics are taken: the table has rows, none of them open.
    const first = await send('first');
    const claimedFirst = await replies.claimNextReply(session.sessionId, Date.now());
    await replies.complete(first.reply.id, claimedFirst?.attempt as number, 'answer');
    await app.db.query('VACUUM ANALYZE messages');

    // Then a backlog the statistics never saw: one pending reply for each of BACKLOG other users.
    await app.db.query(
      `INSERT INTO sessions (id, owner_id, title, last_seq, message_count)
       SELECT md5('backlog-' || n)::uuid, 'backlog-' || n, 'backlog', 2, 2 FROM generate_series(1, $1::int) n`,
      [BACKLOG],
    );
    await app.db.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
       SELECT md5('backlog-q-' || n)::uuid, md5('backlog-' || n)::uuid, 'backlog-' || n, 1, 'user', 'Hello?', 'complete', NULL, NULL
       FROM generate_series(1, $1::int) n
       UNION ALL
       SELECT md5('backlog-a-' || n)::uuid, md5('backlog-' || n)::uuid, 'backlog-' || n, 2, 'assistant', '', 'pending',
         md5('backlog-q-' || n)::uuid, md5('backlog-q-' || n)::uuid
       FROM generate_series(1, $1::int) n`,
      [BACKLOG],
    );

    await capturing(async () => {
      const second = await send('second');
      const claimed = await replies.claimNextReply(session.sessionId, Date.now());
      expect(claimed?.reply.id).toBe(second.reply.id);
      const retried = await replies.beginAttempt(second.reply.id);
      expect(await replies.fail(second.reply.id, claimed?.attempt as number, 'x', 'fenced')).toBeNull();
      expect(await replies.complete(second.reply.id, retried as number, 'answer')).not.toBeNull();
      const third = await send('third');
      expect(await replies.nextOpenReply(session.sessionId)).toMatchObject({ id: third.reply.id });
      expect(await replies.stop(third.reply.id, '')).not.toBeNull();
      const fourth = await send('fourth');
      const claimedFourth = await replies.claimNextReply(session.sessionId, Date.now());
      expect(await replies.fail(fourth.reply.id, claimedFourth?.attempt as number, 'x', 'failed')).not.toBeNull();
      // A message that follows a reply not yet begun, in a `coalesce` session, supersedes it.
      const coalescing = await app.newSession('coalescing');
      await app.db.query(`UPDATE sessions SET reply_mode = 'coalesce' WHERE id = $1`, [coalescing.sessionId]);
      const earlier = await app.inRequest(() => messages.send({ ...coalescing, content: 'one' }));
      await app.inRequest(() => messages.send({ ...coalescing, content: 'two' }));
      expect(await replies.findReply(earlier.reply.id)).toMatchObject({ status: 'superseded' });
    });

    // A send's insert cannot run twice (its ids are taken): its read of the owner's open replies
    // starts from the owner's entries in the index, and a plan cannot avoid naming the owner.
    const touching = captured.filter(
      (s) => /\bmessages\b/.test(s.sql) && /'(pending|streaming)'/.test(s.sql) && !/INSERT INTO/.test(s.sql),
    );
    const kinds = (pattern: RegExp): number => touching.filter((s) => pattern.test(s.sql)).length;
    // What was run: the claims, a retry, completion, failure, the look for the next reply, a stop and a supersession.
    expect(kinds(/^\s*WITH open AS/)).toBe(2);
    expect(kinds(/SET status = 'streaming', attempt = attempt \+ 1/)).toBeGreaterThanOrEqual(3);
    expect(kinds(/SET status = 'complete'/)).toBe(1);
    expect(kinds(/SET status = 'failed'/)).toBe(2);
    expect(kinds(/SET status = 'stopped'/)).toBe(1);
    expect(kinds(/ORDER BY seq LIMIT 1/)).toBe(1);
    expect(kinds(/SET status = 'superseded'/)).toBe(1);

    const client = new pg.Client({ connectionString: app.db.url });
    await client.connect();
    try {
      const read: Array<{ sql: string; buffers: number }> = [];
      for (const statement of touching) {
        read.push({
          sql: statement.sql.replace(/\s+/g, ' ').slice(0, 100),
          buffers: await buffersOf(client, statement),
        });
      }
      expect(read.filter((r) => r.buffers >= MAX_BUFFERS)).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
