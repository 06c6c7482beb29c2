import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '../test/support/services.js';
import { tokenFor } from '../test/support/tokens.js';
import type { SeededUser } from './context.js';

const HISTORY_EXCHANGES = 10;
/** The seed's scenario: each user has one session of 6 messages. */
const CONVERSATION_EXCHANGES = 3;

export interface SeededUsers {
  /** Sessions with a 20-message history to read. */
  readers: SeededUser[];
  /** Empty sessions to send to. */
  senders: SeededUser[];
  /** Sessions of 6 messages (3 exchanges), read and sent to by the seed's scenario. */
  conversers: SeededUser[];
}

/** Rows of `exchanges` question/answer pairs in a session, as one multi-row INSERT. */
function historyRows(sessionId: string, ownerId: string, exchanges: number): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const rows: string[] = [];
  // One linear branch: each question follows the answer before it, each answer its question.
  let previousAnswer: string | null = null;
  for (let e = 0; e < exchanges; e += 1) {
    const [question, answer] = [randomUUID(), randomUUID()];
    const base = values.length;
    values.push(
      question,
      answer,
      2 * e + 1,
      2 * e + 2,
      `Question ${e}: what is ${e} + ${e}?`,
      `It is ${2 * e}.`,
      previousAnswer,
    );
    previousAnswer = answer;
    rows.push(
      `($${base + 1}, '${sessionId}', '${ownerId}', $${base + 3}, 'user', $${base + 5}, 'complete', NULL, $${base + 7}::uuid)`,
      `($${base + 2}, '${sessionId}', '${ownerId}', $${base + 4}, 'assistant', $${base + 6}, 'complete', $${base + 1}::uuid, $${base + 1}::uuid)`,
    );
  }
  return {
    sql: `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to, parent_id) VALUES ${rows.join(', ')}`,
    values,
  };
}

/** Users, each with a 20-message history to read, an empty session to send to and a 6-message conversation. */
export async function seedUsers(db: TestDatabase, count: number): Promise<SeededUsers> {
  const seeded: SeededUsers = { readers: [], senders: [], conversers: [] };
  for (let u = 0; u < count; u += 1) {
    const id = `bench-user-${u}`;
    const token = await tokenFor(id, { ttlSeconds: 6 * 3600 });
    const [readSession, sendSession, talkSession] = [randomUUID(), randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO sessions (id, owner_id, title, last_seq, message_count)
       VALUES ($1, $4, 'history', $5, $5), ($2, $4, 'sends', 0, 0), ($3, $4, 'conversation', $6, $6)`,
      [readSession, sendSession, talkSession, id, 2 * HISTORY_EXCHANGES, 2 * CONVERSATION_EXCHANGES],
    );
    for (const [sessionId, exchanges] of [
      [readSession, HISTORY_EXCHANGES],
      [talkSession, CONVERSATION_EXCHANGES],
    ] as const) {
      const { sql, values } = historyRows(sessionId, id, exchanges);
      await db.query(sql, values);
    }
    seeded.readers.push({ id, token, sessionId: readSession });
    seeded.senders.push({ id, token, sessionId: sendSession });
    seeded.conversers.push({ id, token, sessionId: talkSession });
  }
  return seeded;
}
