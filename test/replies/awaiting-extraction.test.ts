import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataSource } from 'typeorm';
import { NoChangeNotifier } from '../../src/common/change-notifier.port.js';
import { loadConfig } from '../../src/config/app-config.js';
import { InProcessJobQueue } from '../../src/coordination/in-process-job-queue.js';
import { InProcessLockService } from '../../src/coordination/in-process-lock.service.js';
import { runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { extractionJobId, type ExtractMemoriesJobData } from '../../src/memory/memory.constants.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import type { GenerateReplyJobData } from '../../src/replies/replies.constants.js';
import { ReplyReconciler } from '../../src/replies/reply-reconciler.service.js';
import { ReplyRepository } from '../../src/replies/reply.repository.js';
import { eventually } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the reconciler reads to enqueue lost memory extractions again, on PostgreSQL. */
describe('user messages awaiting their memory extraction', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let replies: ReplyRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [], migrations: MIGRATIONS, poolSize: 4 });
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    replies = new ReplyRepository(dataSource, new NoChangeNotifier());
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  /** A user message and its reply in a session of its own; the reply last changed `agoMs` ago. */
  async function exchange(ownerId: string, status: string, agoMs: number): Promise<string> {
    const sessionId = randomUUID();
    const messageId = randomUUID();
    await dataSource.query('INSERT INTO sessions (id, owner_id, last_seq, message_count) VALUES ($1, $2, 2, 2)', [
      sessionId,
      ownerId,
    ]);
    await dataSource.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status) VALUES ($1, $2, $3, 1, 'user', $4, 'complete')`,
      [messageId, sessionId, ownerId, `from ${ownerId}`],
    );
    await dataSource.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id, request_id, updated_at)
       VALUES ($1, $2, $3, 2, 'assistant', 'ok', $4, $5, $5, 'req-1', now() - make_interval(secs => $6::double precision / 1000))`,
      [randomUUID(), sessionId, ownerId, status, messageId, agoMs],
    );
    return messageId;
  }

  it('finds recently answered, never extracted messages of users with extraction on, oldest first', async () => {
    const ana = `ana-${randomUUID()}`;
    const off = `off-${randomUUID()}`;
    const back = `back-${randomUUID()}`;
    const older = await exchange(ana, 'complete', 60_000);
    const newer = await exchange(ana, 'complete', 1000);
    await exchange(ana, 'complete', 2 * DAY_MS); // outside the window
    await exchange(ana, 'streaming', 1000); // not answered yet
    await exchange(ana, 'failed', 1000);
    const done = await exchange(ana, 'complete', 1000);
    await dataSource.query('INSERT INTO memory_extractions (message_id, owner_id) VALUES ($1, $2)', [done, ana]);

    await dataSource.query('INSERT INTO user_preferences (owner_id, memory_extraction) VALUES ($1, false)', [off]);
    await exchange(off, 'complete', 1000);

    // Answered while extraction was off, then turned back on: never drawn from afterwards.
    await exchange(back, 'complete', 60_000);
    await dataSource.query(
      `INSERT INTO user_preferences (owner_id, memory_extraction, updated_at) VALUES ($1, true, now() - interval '30 seconds')`,
      [back],
    );
    const afterBack = await exchange(back, 'complete', 1000);

    const found = await replies.awaitingExtraction(DAY_MS, 100);
    expect(found.map((m) => m.messageId).sort()).toEqual([older, newer, afterBack].sort());
    expect(found[0]).toMatchObject({ messageId: older, ownerId: ana, content: `from ${ana}`, requestId: 'req-1' });
    expect(found.find((m) => m.messageId === afterBack)?.ownerId).toBe(back);

    expect((await replies.awaitingExtraction(DAY_MS, 1)).map((m) => m.messageId)).toEqual([older]);
    // A message left out does not take a place in the batch.
    expect((await replies.awaitingExtraction(DAY_MS, 1, [older])).map((m) => m.messageId)).toEqual([newer]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('enqueues an extraction that fails again less and less often: after 2, 4, 8 reconcile intervals', async () => {
    const failing = await exchange(`cai-${randomUUID()}`, 'complete', 1000);
    const extractions = new InProcessJobQueue<ExtractMemoriesJobData>('extractions', { attempts: 1, backoffMs: 1 });
    const asked: string[] = [];
    extractions.process(4, async (job) => {
      asked.push(job.data.messageId);
      throw new Error('the model is down');
    });
    const reconciler = new ReplyReconciler(
      replies,
      new InProcessJobQueue<GenerateReplyJobData>('replies', { attempts: 1, backoffMs: 1 }),
      extractions,
      new InProcessLockService(new MetricsService()),
      loadConfig({ RECONCILE_INTERVAL_MS: '1000' }),
      pino({ level: 'silent' }),
    );
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const tries: number[] = [];
    for (let pass = 0; pass < 16; pass += 1) {
      const before = asked.filter((id) => id === failing).length;
      await reconciler.reconcile();
      // The job fails at once (one attempt): gone from the queue before the next pass.
      await eventually(
        async () => ((await extractions.has(extractionJobId(failing))) ? undefined : true),
        5_000,
        'the failed job',
      );
      tries.push(asked.filter((id) => id === failing).length - before);
      vi.advanceTimersByTime(1000);
    }
    // Passes 0, 2, 6 and 14: each wait twice the one before.
    expect(tries).toEqual([1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    await extractions.close(1000);
  });

  it('reads completed replies through their index', async () => {
    const plan = await dataSource.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      const rows: Array<{ 'QUERY PLAN': string }> = await tx.query(
        `EXPLAIN SELECT id FROM messages WHERE role = 'assistant' AND status = 'complete' AND updated_at > now() - interval '1 day'`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('messages_completed_replies');
  });
});
