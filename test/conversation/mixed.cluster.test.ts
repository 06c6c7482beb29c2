import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const USERS = 30;
const OPS = 8;

interface Row {
  id: string;
  session_id: string;
  owner_id: string;
  seq: number;
  role: string;
  status: string;
  reply_to: string | null;
  parent_id: string | null;
}

describe('30 users mixing sends, stops, regenerates and edits over 3 processes', () => {
  const fx = withCluster(3, { LOCAL_LLM_DELAY_MS: '15', MAX_PENDING_REPLIES: '1000', COALESCE_WINDOW_MS: '200' });

  it('keeps seq contiguous, every reply in exactly one terminal status, every branch well-formed, and nothing of another user', async () => {
    let stopsAccepted = 0;
    const owners = new Map<string, string>();
    await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const userId = uniqueName(`mixer${u}`);
        const token = await tokenFor(userId);
        const at = (i: number): string => fx.cluster.url(u + i);
        const created = await http('POST', `${at(0)}/v1/sessions`, {
          token,
          body: { replyMode: u % 3 === 0 ? 'coalesce' : 'each' },
        });
        const sessionId = created.body.id as string;
        owners.set(sessionId, userId);
        const messages: any[] = [];
        const replies: any[] = [];
        for (let op = 0; op < OPS; op += 1) {
          const kind = (u + op * 3) % 4;
          if (kind === 0 || messages.length === 0) {
            const sent = await http('POST', `${at(op)}/v1/sessions/${sessionId}/messages`, {
              token,
              body: { content: `u${u} op${op}` },
            });
            expect(sent.status, sent.text).toBe(202);
            messages.push(sent.body.message);
            replies.push(sent.body.reply);
          } else if (kind === 1) {
            const parent = messages[op % messages.length];
            const sent = await http('POST', `${at(op)}/v1/sessions/${sessionId}/messages`, {
              token,
              body: { content: `u${u} edit${op}`, parentId: parent.parentId },
            });
            expect(sent.status, sent.text).toBe(202);
            messages.push(sent.body.message);
            replies.push(sent.body.reply);
          } else if (kind === 2) {
            const reply = replies.at(-1);
            const stop = await http('POST', `${at(op + 1)}/v1/sessions/${sessionId}/messages/${reply.id}/stop`, {
              token,
            });
            expect([200, 409], stop.text).toContain(stop.status);
            stopsAccepted += stop.status === 200 ? 1 : 0;
          } else {
            const reply = replies[op % replies.length];
            const again = await http('POST', `${at(op + 2)}/v1/sessions/${sessionId}/messages/${reply.id}/regenerate`, {
              token,
            });
            expect([202, 409], again.text).toContain(again.status);
            if (again.status === 202) {
              replies.push(again.body.reply);
            }
          }
        }
      }),
    );

    const rows = await eventually(
      async () => {
        const all = await fx.db.query<Row>(
          'SELECT id, session_id, owner_id, seq, role, status, reply_to, parent_id FROM messages ORDER BY session_id, seq',
        );
        return all.every(
          (row) => row.role === 'user' || ['complete', 'failed', 'stopped', 'superseded'].includes(row.status),
        )
          ? all
          : undefined;
      },
      60_000,
      'every reply finished',
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const bySession = new Map<string, Row[]>();
    for (const row of rows) {
      bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row]);
    }
    expect(bySession.size).toBe(USERS);
    for (const [sessionId, messages] of bySession) {
      expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
      for (const message of messages) {
        expect(message.owner_id).toBe(owners.get(sessionId));
        if (message.parent_id !== null) {
          const parent = byId.get(message.parent_id);
          expect(parent?.session_id).toBe(sessionId);
          expect(parent?.seq).toBeLessThan(message.seq);
        }
        if (message.role === 'assistant') {
          expect(message.parent_id).toBe(message.reply_to);
          expect(byId.get(message.reply_to as string)?.role).toBe('user');
        }
      }
    }
    expect(rows.some((row) => row.status === 'stopped')).toBe(true);
    expect(rows.filter((row) => row.status === 'stopped')).toHaveLength(stopsAccepted);
    // Stops are counted once, where they were accepted, with their latency.
    const samples = (
      await Promise.all(fx.cluster.urls.map(async (url) => parseMetrics((await http('GET', `${url}/metrics`)).text)))
    ).flat();
    expect(valueOf(samples, 'parley_replies_total', { outcome: 'stopped' })).toBe(stopsAccepted);
    expect(valueOf(samples, 'parley_reply_stop_latency_seconds_count')).toBe(stopsAccepted);
    expect(valueOf(samples, 'parley_replies_total', { outcome: 'superseded' })).toBe(
      rows.filter((row) => row.status === 'superseded').length,
    );
  });
});
