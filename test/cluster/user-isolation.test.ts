import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';

const USERS = 50;
const MESSAGES = 10;

describe.each(topologies())('F2/F4: 50 users x 10 messages at once across 3 processes ($name)', (topology) => {
  const fx = withCluster(
    3,
    {
      MAX_PENDING_REPLIES: '1000',
      RATE_LIMIT_SENDS: '100000',
      RATE_LIMIT_READS: '100000',
      // 500 sends at once on 3 pools of 5: on a loaded machine the last ones wait for a connection
      // longer than the default 5 s and are shed (503 overloaded, by design); isolation is tested here.
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
    },
    { topology },
  );

  it('gives every user exactly their own 10 pairs and nothing of anyone else’s', async () => {
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const id = uniqueName(`user${u}`);
        const token = await tokenFor(id);
        const session = await http('POST', `${fx.cluster.url(u)}/v1/sessions`, {
          token,
          body: { title: `session of ${id}` },
        });
        expect(session.status).toBe(201);
        return { id, token, marker: `<${id}>`, sessionId: session.body.id as string };
      }),
    );

    let request = 0;
    const sends = users.flatMap((user) =>
      Array.from({ length: MESSAGES }, (_, m) => {
        const url = fx.cluster.url(request++);
        return http('POST', `${url}/v1/sessions/${user.sessionId}/messages`, {
          token: user.token,
          body: { content: `${user.marker} message ${m}` },
        });
      }),
    );
    const results = await Promise.all(sends);
    expect(results.filter((r) => r.status !== 202)).toEqual([]);

    for (const [u, user] of users.entries()) {
      const history = await eventually(
        async () => {
          const page = await http('GET', `${fx.cluster.url(u + 1)}/v1/sessions/${user.sessionId}/messages?limit=200`, {
            token: user.token,
          });
          return page.body.items.every((m: any) => m.status === 'complete') ? page.body.items : undefined;
        },
        120_000,
        `history of ${user.id}`,
      );

      expect(history).toHaveLength(2 * MESSAGES);
      expect(history.map((m: any) => m.seq)).toEqual(Array.from({ length: 2 * MESSAGES }, (_, i) => i + 1));
      const own = history
        .filter((m: any) => m.role === 'user')
        .map((m: any) => m.content)
        .sort();
      expect(own).toEqual(Array.from({ length: MESSAGES }, (_, m) => `${user.marker} message ${m}`).sort());
      const text = JSON.stringify(history);
      for (const other of users) {
        if (other !== user) {
          expect(text).not.toContain(other.marker);
        }
      }
      for (const reply of history.filter((m: any) => m.role === 'assistant')) {
        expect(reply.content).toContain(user.marker);
      }

      const sessions = await http('GET', `${fx.cluster.url(u)}/v1/sessions?limit=100`, { token: user.token });
      expect(sessions.body.items.map((s: any) => s.id)).toEqual([user.sessionId]);
    }
  });
});
