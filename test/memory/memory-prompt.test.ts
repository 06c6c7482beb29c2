import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { ChangeNotifier } from '../../src/common/change-notifier.port.js';
import { runMigrationsLocked } from '../../src/database/data-source.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { createPgliteDriver } from '../../src/database/pglite-driver.js';
import { MemoryPromptSource } from '../../src/memory/memory-prompt.source.js';
import { MemoryRepository } from '../../src/memory/memory.repository.js';
import { embeddedDataDir, type EmbeddedDir } from '../support/embedded.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

/** Records what the repository announces, to check it announces every committed write. */
class RecordingNotifier extends ChangeNotifier {
  readonly memories: string[] = [];
  async historyChanged(): Promise<void> {}
  async sessionsChanged(): Promise<void> {}
  async sessionDeleted(): Promise<void> {}
  async preferencesChanged(): Promise<void> {}
  async memoriesChanged(ownerId: string): Promise<void> {
    this.memories.push(ownerId);
  }
}

interface Engine {
  dataSource: DataSource;
  close(): Promise<void>;
}

async function migrated(options: ConstructorParameters<typeof DataSource>[0]): Promise<DataSource> {
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  return dataSource;
}

/** Memories a user may keep, in the tests below that do not test the cap itself. */
const CAP = 100;

const engines: Record<string, () => Promise<Engine>> = {
  PostgreSQL: async () => {
    const db: TestDatabase = await createTestDatabase();
    const dataSource = await migrated({
      type: 'postgres',
      url: db.url,
      entities: [],
      migrations: MIGRATIONS,
    });
    return { dataSource, close: async () => (await dataSource.destroy(), await db.drop()) };
  },
  PGlite: async () => {
    const dir: EmbeddedDir = embeddedDataDir();
    const driver = createPgliteDriver(`${dir.path}/pglite`);
    const dataSource = await migrated({
      type: 'postgres',
      driver,
      entities: [],
      migrations: MIGRATIONS,
    });
    return { dataSource, close: async () => (await dataSource.destroy(), dir.remove()) };
  },
};

describe.each(Object.keys(engines))('memory repository and prompt source on %s', (name) => {
  let engine: Engine;
  let notifier: RecordingNotifier;
  let repository: MemoryRepository;
  let prompt: MemoryPromptSource;
  const owner = (): string => `user-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    engine = await (engines[name] as () => Promise<Engine>)();
    notifier = new RecordingNotifier();
    repository = new MemoryRepository(engine.dataSource, notifier);
    prompt = new MemoryPromptSource(repository);
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('puts the memories matching any word of the message first, then the most recent', async () => {
    const alice = owner();
    const bob = owner();
    await repository.create(alice, 'I am allergic to peanuts', 'user', CAP);
    await repository.create(alice, 'My daughter is called Inês', 'extracted', CAP);
    await repository.create(alice, 'I live in Porto', 'user', CAP);
    await repository.create(bob, 'I love peanut butter and cooking', 'user', CAP);

    expect(await prompt.memoriesFor(alice, 'Can you suggest a recipe with peanuts for my dinner?', 1)).toEqual([
      'I am allergic to peanuts',
    ]);
    const filled = await prompt.memoriesFor(alice, 'Any cooking ideas for peanut lovers?', 3);
    expect(filled[0]).toBe('I am allergic to peanuts');
    expect(filled.slice(1).sort()).toEqual(['I live in Porto', 'My daughter is called Inês']);
    expect(await prompt.memoriesFor(alice, 'Where do I live? Porto or Lisbon?', 1)).toEqual(['I live in Porto']);
    expect(await prompt.memoriesFor(alice, '?!', 10)).toHaveLength(3);
    expect(await prompt.memoriesFor(alice, 'cooking', 10)).not.toContain('I love peanut butter and cooking');
    expect(await prompt.memoriesFor(bob, 'peanuts', 10)).toEqual(['I love peanut butter and cooking']);
    expect(await prompt.memoriesFor(owner(), 'peanuts', 10)).toEqual([]);
    expect(await prompt.memoriesFor(alice, 'peanuts', 0)).toEqual([]);
    expect(await prompt.memoriesFor(alice, 'peanuts', Number.NaN)).toEqual([]);
  });

  it('announces each committed write to the ChangeNotifier, and nothing else (a write refused at the cap neither)', async () => {
    const alice = owner();
    const before = notifier.memories.length;
    const first = await repository.create(alice, 'one', 'user', 2);
    assert(first !== null);
    await repository.create(alice, 'two', 'user', 2);
    expect(await repository.create(alice, 'three', 'user', 2)).toBeNull();
    await repository.listRecent(alice, 10);
    await repository.search(alice, 'one', 10);
    expect(await repository.delete(first.id, owner())).toBe(false);
    expect(await repository.delete(first.id, alice)).toBe(true);
    expect(await repository.deleteAllByOwner(alice)).toBe(1);
    expect(await repository.deleteAllByOwner(alice)).toBe(0);
    expect(notifier.memories.slice(before)).toEqual([alice, alice, alice, alice]);
  });

  it('enforces the content length and the source in the schema itself', async () => {
    const db = engine.dataSource;
    const insert = (content: string, source: string): Promise<unknown> =>
      db.query('INSERT INTO memories (id, owner_id, content, source) VALUES ($1, $2, $3, $4)', [
        randomUUID(),
        'x',
        content,
        source,
      ]);
    await expect(insert('', 'user')).rejects.toThrow(/check constraint/);
    await expect(insert('y'.repeat(2001), 'user')).rejects.toThrow(/check constraint/);
    await expect(insert('ok', 'admin')).rejects.toThrow(/check constraint/);
    await expect(insert('😀'.repeat(2000), 'extracted')).resolves.toBeDefined();
  });
});
