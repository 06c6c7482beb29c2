import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';
import { clusterCounters } from './cache-metrics.js';

interface Owner {
  id: string;
  token: string;
  sessions: string[];
}

const SESSIONS_PER_OWNER = 2;

describe('cache isolation: user B never receives user A’s entry', () => {
  const fx = withCluster(2, { MAX_PENDING_REPLIES: '1000' });
  let owners: Owner[];

  beforeAll(async () => {
    // Subjects that a careless key format would confuse: separators and escapes of each other.
    const stem = uniqueName('iso');
    const ids = [stem, `${stem}:x`, `${stem}%3Ax`, `${stem}:x:`, `${stem}/x`];
    owners = await Promise.all(
      ids.map(async (id, o) => {
        const token = await tokenFor(id);
        const sessions: string[] = [];
        for (let s = 0; s < SESSIONS_PER_OWNER; s += 1) {
          const created = await http('POST', `${fx.cluster.url(o)}/v1/sessions`, {
            token,
            body: { title: `<${id}> ${s}` },
          });
          sessions.push(created.body.id as string);
          for (let m = 0; m < 3; m += 1) {
            await http('POST', `${fx.cluster.url(m)}/v1/sessions/${created.body.id}/messages`, {
              token,
              body: { content: `<${id}> ${m}` },
            });
          }
        }
        return { id, token, sessions };
      }),
    );
  });

  const query = fc.record(
    {
      limit: fc.integer({ min: 1, max: 8 }),
      beforeSeq: fc.integer({ min: 1, max: 8 }),
    },
    { requiredKeys: [] },
  );
  const command = fc.record({
    owner: fc.nat({ max: 4 }),
    reader: fc.nat({ max: 4 }),
    session: fc.nat({ max: SESSIONS_PER_OWNER - 1 }),
    route: fc.constantFrom('history', 'session', 'list'),
    query,
    replica: fc.nat({ max: 1 }),
  });

  it('answers every owner with their own data and everyone else with 403, whatever is cached', async () => {
    const before = await clusterCounters(fx.cluster.urls);
    await fc.assert(
      fc.asyncProperty(command, async ({ owner: o, reader: r, session: s, route, query: q, replica }) => {
        const owner = owners[o] as Owner;
        const reader = owners[r] as Owner;
        const sessionId = owner.sessions[s] as string;
        const search = new URLSearchParams(
          Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
        ).toString();
        const path =
          route === 'history'
            ? `/v1/sessions/${sessionId}/messages?${search}`
            : route === 'session'
              ? `/v1/sessions/${sessionId}`
              : `/v1/sessions?${new URLSearchParams(q.limit === undefined ? {} : { limit: String(q.limit) }).toString()}`;
        // The owner reads first, so that the exact entry B would want is cached on both replicas.
        const own = await http('GET', `${fx.cluster.url(replica)}${path}`, { token: owner.token });
        expect(own.status).toBe(200);
        const other = await http('GET', `${fx.cluster.url(replica + 1)}${path}`, { token: reader.token });
        if (route === 'list') {
          expect(other.status).toBe(200);
          for (const item of other.body.items) {
            expect(reader.sessions).toContain(item.id);
            expect(item.title).toContain(`<${reader.id}>`);
          }
          return;
        }
        if (r !== o) {
          expect(other.status).toBe(403);
          expect(other.body.code).toBe('session_forbidden');
          expect(other.text).not.toContain(`<${owner.id}>`);
          return;
        }
        expect(other.status).toBe(200);
        const items = route === 'history' ? other.body.items : [other.body];
        for (const item of items) {
          expect(route === 'history' ? item.sessionId : item.id).toBe(sessionId);
          if (item.role !== 'assistant') {
            expect(item.content ?? item.title).toContain(`<${owner.id}>`);
          }
        }
      }),
      { numRuns: 300 },
    );
    const after = await clusterCounters(fx.cluster.urls);
    expect(after.memoryHits + after.redisHits - before.memoryHits - before.redisHits).toBeGreaterThan(300);
  });
});
