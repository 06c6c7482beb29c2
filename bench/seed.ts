import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '../test/support/services.js';
import { tokenFor } from '../test/support/tokens.js';
import type { SeededUser } from './context.js';

const HISTORY_EXCHANGES = 10;

/** Users, each with a 20-message history to read and an empty session to send to. */
export async function seedUsers(db: TestDatabase, count: number): Promise<{ readers: SeededUser[]; senders: SeededUser[] }> {
  const readers: SeededUser[] = [];
  const senders: SeededUser[] = [];
  for (let u = 0; u < count; u += 1) {
    const id = `bench-user-${u}`;
    const token = await tokenFor(id, { ttlSeconds: 6 * 3600 });
    const [readSession, sendSession] = [randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO sessions (id, owner_id, title, last_seq, message_count)
       VALUES ($1, $3, 'history', $4, $4), ($2, $3, 'sends', 0, 0)`,
      [readSession, sendSession, id, 2 * HISTORY_EXCHANGES],
    );
    const values: unknown[] = [];
    const rows: string[] = [];
    for (let e = 0; e < HISTORY_EXCHANGES; e += 1) {
      const question = randomUUID();
      const base = values.length;
      values.push(question, randomUUID(), 2 * e + 1, 2 * e + 2, `Question ${e}: what is ${e} + ${e}?`, `It is ${2 * e}.`);
      rows.push(
        `($${base + 1}, '${readSession}', '${id}', $${base + 3}, 'user', $${base + 5}, 'complete', NULL)`,
        `($${base + 2}, '${readSession}', '${id}', $${base + 4}, 'assistant', $${base + 6}, 'complete', $${base + 1}::uuid)`,
      );
    }
    await db.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to) VALUES ${rows.join(', ')}`,
      values,
    );
    readers.push({ id, token, sessionId: readSession });
    senders.push({ id, token, sessionId: sendSession });
  }
  return { readers, senders };
}
