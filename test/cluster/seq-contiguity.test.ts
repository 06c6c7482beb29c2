import { describe, expect, it } from 'vitest';
import { newSession } from '../support/api.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';

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
  const fx = withCluster(
    3,
    { MAX_PENDING_REPLIES: '1000', RATE_LIMIT_SENDS: '100000', RATE_LIMIT_READS: '100000' },
    { topology },
  );

  it(`stores ${SENDS} sends as seq 1..${2 * SENDS} with no gap, no duplicate, every pair intact`, async () => {
    const token = await tokenFor(uniqueName('user'));
    const sessionId = await newSession(fx.cluster.url(0), { token }, 'race');

    const responses = await Promise.all(
      Array.from({ length: SENDS }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/sessions/${sessionId}/messages`, {
          token,
          body: { content: `message ${i}` },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(SENDS).fill(202));

    const rows = await fx.db.query<Row>(
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

    const sessionRow = await fx.db.query<{ last_seq: number; message_count: number }>(
      'SELECT last_seq, message_count FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(sessionRow[0]).toEqual({ last_seq: 2 * SENDS, message_count: 2 * SENDS });

    await eventually(
      async () => {
        const open = await fx.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM messages WHERE session_id = $1 AND status <> 'complete'",
          [sessionId],
        );
        return open[0]?.n === 0 ? true : undefined;
      },
      120_000,
      'every reply to complete',
    );

    const history = await http('GET', `${fx.cluster.url(2)}/v1/sessions/${sessionId}/messages?limit=200`, {
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
