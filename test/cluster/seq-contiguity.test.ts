import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';

const SENDS = 100;

interface Row {
  id: string;
  seq: number;
  role: string;
  content: string;
  status: string;
  reply_to: string | null;
}

describe.each(topologies())('F1: concurrent sends to one session across 3 processes ($name)', (topology) => {
  let db: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    await topology.start();
    db = await createTestDatabase();
    cluster = await startCluster(
      3,
      productionEnv(db, uniqueName('t'), {
        ...topology.env(db),
        MAX_PENDING_REPLIES: '1000',
        RATE_LIMIT_SENDS: '100000',
        RATE_LIMIT_READS: '100000',
      }),
    );
  });

  afterAll(async () => {
    await cluster?.stop();
    await db?.drop();
    await topology.stop();
  });

  it(`stores ${SENDS} sends as seq 1..${2 * SENDS} with no gap, no duplicate, every pair intact`, async () => {
    const token = await tokenFor(uniqueName('user'));
    const session = await http('POST', `${cluster.url(0)}/v1/sessions`, { token, body: { title: 'race' } });
    const sessionId = session.body.id as string;

    const responses = await Promise.all(
      Array.from({ length: SENDS }, (_, i) =>
        http('POST', `${cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
          token,
          body: { content: `message ${i}` },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(SENDS).fill(202));

    const rows = await db.query<Row>(
      'SELECT id, seq, role, content, status, reply_to FROM messages WHERE session_id = $1 ORDER BY seq',
      [sessionId],
    );
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 2 * SENDS }, (_, i) => i + 1));

    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [i, response] of responses.entries()) {
      const { message, reply } = response.body;
      expect(byId.get(message.id)?.content).toBe(`message ${i}`);
      expect(byId.get(reply.id)?.reply_to).toBe(message.id);
      expect(reply.seq).toBe(message.seq + 1);
    }
    const users = rows.filter((r) => r.role === 'user');
    expect(new Set(users.map((r) => r.content)).size).toBe(SENDS);

    const sessionRow = await db.query<{ last_seq: number; message_count: number }>(
      'SELECT last_seq, message_count FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(sessionRow[0]).toEqual({ last_seq: 2 * SENDS, message_count: 2 * SENDS });

    await eventually(
      async () => {
        const open = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM messages WHERE session_id = $1 AND status <> 'complete'",
          [sessionId],
        );
        return open[0]?.n === 0 ? true : undefined;
      },
      120_000,
      'every reply to complete',
    );

    const history = await http('GET', `${cluster.url(2)}/v1/sessions/${sessionId}/messages?limit=200`, {
      token,
    });
    expect(history.body.items).toHaveLength(2 * SENDS);
    for (const item of history.body.items) {
      if (item.role === 'assistant') {
        const asked = history.body.items.find((m: any) => m.id === item.replyTo);
        expect(item.content).toContain(asked.content);
      }
    }
  });
});
