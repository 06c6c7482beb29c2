import { describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';
import { clusterCounters } from './cache-metrics.js';

const USERS = 8;
const ROUNDS_PER_USER = 150;

interface User {
  id: string;
  token: string;
  sessionId: string;
}

describe.each(topologies())('read-your-writes through the cache across 3 processes ($name)', (topology) => {
  const fx = withCluster(3, { MAX_PENDING_REPLIES: '10000' }, { topology });

  /**
   * Each round: B and C read (warming their caches at the current version), A writes, then B and C
   * must show the write at once. Writes alternate between sends (history, session, list) and
   * renames (session, list). The users run interleaved, each round on other processes.
   */
  async function rounds(user: User, u: number, failures: string[]): Promise<void> {
    const base = (path: string): string => `/v1/sessions/${user.sessionId}${path}`;
    for (let round = 0; round < ROUNDS_PER_USER; round += 1) {
      const [a, b, c] = [0, 1, 2].map((k) => fx.cluster.url(round + u + k)) as [string, string, string];
      await Promise.all([
        http('GET', `${b}${base('/messages')}`, { token: user.token }),
        http('GET', `${c}${base('')}`, { token: user.token }),
        http('GET', `${c}/v1/sessions`, { token: user.token }),
      ]);
      if (round % 2 === 0) {
        const content = `${user.id} round ${round}`;
        const sent = await http('POST', `${a}${base('/messages')}`, { token: user.token, body: { content } });
        if (sent.status !== 202) {
          failures.push(`send ${sent.status}`);
          continue;
        }
        const seq = sent.body.message.seq as number;
        const [history, session, list] = await Promise.all([
          http('GET', `${b}${base('/messages')}?limit=10`, { token: user.token }),
          http('GET', `${c}${base('')}`, { token: user.token }),
          http('GET', `${b}/v1/sessions`, { token: user.token }),
        ]);
        if (!history.body.items.some((m: any) => m.id === sent.body.message.id && m.content === content)) {
          failures.push(`history on ${b} misses seq ${seq} of ${user.id}`);
        }
        if (session.body.messageCount < seq + 1) {
          failures.push(`session on ${c} shows ${session.body.messageCount} messages, expected ≥ ${seq + 1}`);
        }
        if ((list.body.items[0]?.messageCount ?? 0) < seq + 1) {
          failures.push(`session list on ${b} is behind for ${user.id}`);
        }
      } else {
        const title = `${user.id} title ${round}`;
        const renamed = await http('PATCH', `${a}${base('')}`, { token: user.token, body: { title } });
        if (renamed.status !== 200) {
          failures.push(`rename ${renamed.status}`);
          continue;
        }
        const [session, list] = await Promise.all([
          http('GET', `${b}${base('')}`, { token: user.token }),
          http('GET', `${c}/v1/sessions`, { token: user.token }),
        ]);
        if (session.body.title !== title) {
          failures.push(`session on ${b}: "${session.body.title}" instead of "${title}"`);
        }
        if (list.body.items[0]?.title !== title) {
          failures.push(`session list on ${c}: "${list.body.items[0]?.title}" instead of "${title}"`);
        }
      }
    }
  }

  // Thousands of requests one after another per user: on a loaded machine this takes longer than the default minute.
  it('shows every write to the next read on any process, for thousands of interleaved writes', async () => {
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u): Promise<User> => {
        const id = uniqueName(`ryw${u}`);
        const token = await tokenFor(id);
        const created = await http('POST', `${fx.cluster.url(u)}/v1/sessions`, {
          token,
          body: { title: 'start' },
        });
        expect(created.status).toBe(201);
        return { id, token, sessionId: created.body.id as string };
      }),
    );
    const before = await clusterCounters(fx.cluster.urls);
    const failures: string[] = [];
    await Promise.all(users.map((user, u) => rounds(user, u, failures)));
    expect(failures.slice(0, 20)).toEqual([]);

    // The reads before each write were served from the cache: the check above could have failed.
    const after = await clusterCounters(fx.cluster.urls);
    const hits = after.memoryHits + after.redisHits - before.memoryHits - before.redisHits;
    expect(hits).toBeGreaterThan(USERS * ROUNDS_PER_USER);
  }, 180_000);

  it('answers 404 on every process once a session is deleted, though its ownership check was cached across the writes before', async () => {
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const id = uniqueName(`del${u}`);
        const token = await tokenFor(id);
        const [a, b, c] = [0, 1, 2].map((k) => fx.cluster.url(u + k)) as [string, string, string];
        const created = await http('POST', `${a}/v1/sessions`, { token, body: { title: 'doomed' } });
        const base = `/v1/sessions/${created.body.id as string}`;
        // Sends move the session's data counter; the reads on B and C between them keep finding
        // the session owned (the ownership entry is not moved by them).
        for (let round = 0; round < 3; round += 1) {
          const sent = await http('POST', `${a}${base}/messages`, { token, body: { content: `round ${round}` } });
          const reads = await Promise.all([
            http('GET', `${b}${base}/messages`, { token }),
            http('GET', `${c}${base}`, { token }),
            http('GET', `${b}${base}`, { token }),
          ]);
          if (sent.status !== 202 || reads.some((read) => read.status !== 200)) {
            failures.push(`${id} round ${round}: ${sent.status}, ${reads.map((read) => read.status).join(', ')}`);
          }
        }
        expect((await http('DELETE', `${a}${base}`, { token })).status).toBe(204);
        const after = await Promise.all([
          http('GET', `${b}${base}/messages`, { token }),
          http('GET', `${c}${base}/messages`, { token }),
          http('GET', `${b}${base}`, { token }),
          http('POST', `${c}${base}/messages`, { token, body: { content: 'after' } }),
          http('PATCH', `${b}${base}`, { token, body: { title: 'revived' } }),
        ]);
        if (after.some((answer) => answer.status !== 404)) {
          failures.push(`${id} after deletion: ${after.map((answer) => answer.status).join(', ')}`);
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 120_000);
});
