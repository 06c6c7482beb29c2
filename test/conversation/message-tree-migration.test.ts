import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { migrationDataSource } from '../../src/database/migration-runner.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { MessageTree1767657600000 } from '../../src/database/migrations/1767657600000-MessageTree.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

describe('the message tree migration', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(MessageTree1767657600000));

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = migrationDataSource(db.url, before);
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('gives existing linear histories their parents, and lets a message have several replies', async () => {
    const sessions = [randomUUID(), randomUUID()];
    const ids = new Map<string, string[]>();
    for (const sessionId of sessions) {
      await db.query('INSERT INTO sessions (id, owner_id, last_seq, message_count) VALUES ($1, $2, 6, 6)', [
        sessionId,
        'alice',
      ]);
      const rows: string[] = [];
      for (let seq = 1; seq <= 6; seq += 1) {
        const id = randomUUID();
        const user = seq % 2 === 1;
        await db.query(
          `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to)
           VALUES ($1, $2, 'alice', $3, $4, $5, $6, $7)`,
          [
            id,
            sessionId,
            seq,
            user ? 'user' : 'assistant',
            `m${seq}`,
            seq === 6 ? 'pending' : 'complete',
            user ? null : rows.at(-1),
          ],
        );
        rows.push(id);
      }
      ids.set(sessionId, rows);
    }

    const runner = dataSource.createQueryRunner();
    await new MessageTree1767657600000().up(runner);
    await runner.release();

    for (const sessionId of sessions) {
      const rows = await db.query<{ id: string; parent_id: string | null }>(
        'SELECT id, parent_id FROM messages WHERE session_id = $1 ORDER BY seq',
        [sessionId],
      );
      const expected = ids.get(sessionId) as string[];
      expect(rows.map((row) => row.id)).toEqual(expected);
      expect(rows.map((row) => row.parent_id)).toEqual([null, ...expected.slice(0, -1)]);
    }
    // A second reply to the same user message (a regeneration) is now allowed; a reply whose parent
    // is not its user message is not.
    const [sessionId] = sessions as [string];
    const [userId] = ids.get(sessionId) as [string];
    await db.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
       VALUES ($1, $2, 'alice', 7, 'assistant', '', 'stopped', $3, $3)`,
      [randomUUID(), sessionId, userId],
    );
    await expect(
      db.query(
        `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id)
         VALUES ($1, $2, 'alice', 8, 'assistant', '', 'pending', $3, NULL)`,
        [randomUUID(), sessionId, userId],
      ),
    ).rejects.toThrow(/messages_reply_parent/);
  });
});
