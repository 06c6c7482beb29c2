import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { NoChangeNotifier } from '../../src/common/change-notifier.port.js';
import { runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import type { Fact } from '../../src/memory/extraction/fact.js';
import { MemoryExtractionRepository, type ExtractionSource } from '../../src/memory/memory-extraction.repository.js';
import { MemoryRepository } from '../../src/memory/memory.repository.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

const CAP = 100;

describe('memory extraction writes on PostgreSQL', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let extractions: MemoryExtractionRepository;
  let memories: MemoryRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [], migrations: MIGRATIONS, poolSize: 8 });
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    extractions = new MemoryExtractionRepository(dataSource, new NoChangeNotifier());
    memories = new MemoryRepository(dataSource, new NoChangeNotifier());
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  /** A session of `ownerId` with one user message per text: the sources of extraction. */
  async function conversation(ownerId: string, count: number): Promise<ExtractionSource[]> {
    const sessionId = randomUUID();
    await dataSource.query('INSERT INTO sessions (id, owner_id, last_seq, message_count) VALUES ($1, $2, $3, $3)', [
      sessionId,
      ownerId,
      count,
    ]);
    const sources: ExtractionSource[] = [];
    for (let seq = 1; seq <= count; seq += 1) {
      const messageId = randomUUID();
      await dataSource.query(
        `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status) VALUES ($1, $2, $3, $4, 'user', 'x', 'complete')`,
        [messageId, sessionId, ownerId, seq],
      );
      sources.push({ ownerId, sessionId, messageId });
    }
    return sources;
  }

  const contents = async (ownerId: string): Promise<string[]> =>
    (await memories.listRecent(ownerId, 100)).map((m) => `${m.source}:${m.content}`).sort();
  const fact = (text: string, topic: Fact['topic'] = null): Fact => ({ text, topic });

  it('stores one message once however many deliveries run at once', async () => {
    const owner = `dup-${randomUUID()}`;
    const [source] = await conversation(owner, 1);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        extractions.store(source as ExtractionSource, [fact('I like tea'), fact('I live in Quito', 'location')], CAP),
      ),
    );
    expect(results.filter((r) => r.first)).toHaveLength(1);
    expect(results.find((r) => r.first)?.facts).toEqual(['stored', 'stored']);
    expect(await contents(owner)).toEqual(['extracted:I like tea', 'extracted:I live in Quito']);
    const stored = await memories.listRecent(owner, 10);
    expect(stored.every((m) => m.sessionId === source?.sessionId && m.messageId === source?.messageId)).toBe(true);
    expect(await extractions.wasExtracted(source?.messageId as string)).toBe(true);
  });

  it('records a message once when deliveries with and without facts run at once (one claims it, the others write nothing)', async () => {
    const owner = `mixed-${randomUUID()}`;
    const [empty, mixed] = await conversation(owner, 2);
    const none = await Promise.all(
      Array.from({ length: 6 }, () => extractions.store(empty as ExtractionSource, [], CAP)),
    );
    expect(none.filter((r) => r.first)).toHaveLength(1);
    expect(await extractions.wasExtracted(empty?.messageId as string)).toBe(true);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        extractions.store(mixed as ExtractionSource, i % 2 === 0 ? [] : [fact('I like coffee')], CAP),
      ),
    );
    expect(results.filter((r) => r.first)).toHaveLength(1);
    const stored = await contents(owner);
    const winner = results.find((r) => r.first);
    expect(stored).toEqual(winner?.facts.length === 0 ? [] : ['extracted:I like coffee']);
  });

  it('deduplicates by normalised text, replaces an older extracted fact on the topic, never touches typed ones', async () => {
    const owner = `facts-${randomUUID()}`;
    const [a, b, c] = await conversation(owner, 3);
    await memories.create(owner, 'I live in Lima', 'user', CAP);
    await memories.create(owner, 'I like tea!', 'user', CAP);
    const first = await extractions.store(
      a as ExtractionSource,
      [fact('I live in Quito', 'location'), fact('i like  TEA')],
      CAP,
    );
    expect(first.facts).toEqual(['stored', 'deduplicated']);
    const second = await extractions.store(
      b as ExtractionSource,
      [fact('I live in Porto', 'location'), fact('I live in porto.')],
      CAP,
    );
    expect(second).toMatchObject({ facts: ['stored', 'deduplicated'], replaced: 1 });
    expect(await contents(owner)).toEqual(['extracted:I live in Porto', 'user:I like tea!', 'user:I live in Lima']);
    const none = await extractions.store(c as ExtractionSource, [], CAP);
    expect(none).toMatchObject({ first: true, facts: [] });
  });

  it('keeps the cap by evicting the oldest extracted memories, never a typed one', async () => {
    const owner = `cap-${randomUUID()}`;
    const sources = await conversation(owner, 4);
    await memories.create(owner, 'typed one', 'user', 3);
    await memories.create(owner, 'typed two', 'user', 3);
    await extractions.store(sources[0] as ExtractionSource, [fact('fact one')], 3);
    const evicting = await extractions.store(sources[1] as ExtractionSource, [fact('fact two')], 3);
    expect(evicting).toMatchObject({ facts: ['stored'], evicted: 1 });
    expect(await contents(owner)).toEqual(['extracted:fact two', 'user:typed one', 'user:typed two']);
    await memories.create(owner, 'typed three', 'user', 4);
    // Only typed memories left at the cap: nothing may be evicted, so nothing is stored.
    await memories.deleteAllByOwner(owner);
    for (const text of ['t1', 't2', 't3']) {
      await memories.create(owner, text, 'user', 3);
    }
    const full = await extractions.store(sources[2] as ExtractionSource, [fact('fact three')], 3);
    expect(full).toMatchObject({ facts: ['skipped'], evicted: 0 });
    expect(await contents(owner)).toEqual(['user:t1', 'user:t2', 'user:t3']);
  });

  it('keeps an extracted memory when its session is deleted, without the dangling provenance', async () => {
    const owner = `gone-${randomUUID()}`;
    const [source] = await conversation(owner, 1);
    await extractions.store(source as ExtractionSource, [fact('I like jazz')], CAP);
    await dataSource.query('DELETE FROM sessions WHERE id = $1', [source?.sessionId]);
    const [kept] = await memories.listRecent(owner, 10);
    expect(kept).toMatchObject({ content: 'I like jazz', source: 'extracted', sessionId: null, messageId: null });
    // A job for a message deleted meanwhile fails on its reference: nothing is stored.
    await expect(extractions.store(source as ExtractionSource, [fact('I like blues')], CAP)).rejects.toMatchObject({
      code: '23503',
    });
  });
});
