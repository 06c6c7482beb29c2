import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { startProductionTarget } from '../support/targets.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';
import { defineMemoriesSuite } from './memories.suite.js';

defineMemoriesSuite('production: PostgreSQL + Redis, 2 processes', () => startProductionTarget(2));

const USERS = 20;
const MEMORIES = 10;
/** MAX_MEMORIES_PER_USER of the cluster below: every user of the first test fills it exactly. */
const CAP = MEMORIES;

describe('memories across 2 processes at once (production mode)', () => {
  const fx = withCluster(2, { MAX_MEMORIES_PER_USER: String(CAP) });

  it(`gives each of ${USERS} users exactly their own ${MEMORIES} memories after concurrent writes`, async () => {
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const id = uniqueName(`user${u}`);
        return { id, token: await tokenFor(id), marker: `<${id}>` };
      }),
    );
    let request = 0;
    const writes = users.flatMap((user) =>
      Array.from({ length: MEMORIES }, (_, m) =>
        http('POST', `${fx.cluster.url(request++)}/v1/memories`, {
          token: user.token,
          body: { content: `${user.marker} memory ${m}` },
        }),
      ),
    );
    const results = await Promise.all(writes);
    expect(results.filter((r) => r.status !== 201).map((r) => r.text)).toEqual([]);

    for (const [u, user] of users.entries()) {
      const listed = await http('GET', `${fx.cluster.url(u + 1)}/v1/memories?limit=100`, { token: user.token });
      expect(listed.status).toBe(200);
      const own = listed.body.items.map((m: any) => m.content as string).sort();
      expect(own).toEqual(Array.from({ length: MEMORIES }, (_, m) => `${user.marker} memory ${m}`).sort());
      const searched = await http('GET', `${fx.cluster.url(u)}/v1/memories?limit=100&q=memory`, {
        token: user.token,
      });
      expect(searched.body.items).toHaveLength(MEMORIES);
      for (const other of users) {
        if (other !== user) {
          expect(listed.text).not.toContain(other.marker);
          expect(searched.text).not.toContain(other.marker);
        }
      }
    }
    const rows = await fx.db.query<{ count: string }>('SELECT count(*) FROM memories');
    expect(Number(rows[0]?.count)).toBe(USERS * MEMORIES);
  });

  it(`keeps exactly ${CAP} memories of a user who writes ${3 * CAP} at once over both processes`, async () => {
    const greedyId = uniqueName('greedy');
    const greedy = await tokenFor(greedyId);
    const other = await tokenFor(uniqueName('other'));
    const results = await Promise.all(
      Array.from({ length: 3 * CAP }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/memories`, { token: greedy, body: { content: `greedy ${i}` } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(CAP);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(2 * CAP);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: 'too_many_memories', requestId: expect.any(String) });
    }
    const rows = await fx.db.query<{ count: string }>('SELECT count(*) FROM memories WHERE owner_id = $1', [greedyId]);
    expect(Number(rows[0]?.count)).toBe(CAP);

    // The cap is per user, and forgetting makes room again.
    expect(
      (await http('POST', `${fx.cluster.url(1)}/v1/memories`, { token: other, body: { content: 'x' } })).status,
    ).toBe(201);
    const kept = results.find((r) => r.status === 201)?.body.id as string;
    expect((await http('DELETE', `${fx.cluster.url(0)}/v1/memories/${kept}`, { token: greedy })).status).toBe(204);
    expect(
      (await http('POST', `${fx.cluster.url(1)}/v1/memories`, { token: greedy, body: { content: 'again' } })).status,
    ).toBe(201);
    expect(
      (await http('POST', `${fx.cluster.url(0)}/v1/memories`, { token: greedy, body: { content: 'more' } })).status,
    ).toBe(409);
  });

  it('logs and counts an attempt on another user’s memory as a security event', async () => {
    const victim = await tokenFor(uniqueName('victim'));
    const intruderId = uniqueName('intruder');
    const intruder = await tokenFor(intruderId);
    const memory = await http('POST', `${fx.cluster.url(0)}/v1/memories`, {
      token: victim,
      body: { content: 'victim-secret' },
    });
    const app = fx.cluster.apps[1] as AppProcess;
    const forbidden = await http('DELETE', `${app.url}/v1/memories/${memory.body.id as string}`, {
      token: intruder,
      headers: { 'x-request-id': 'probe-memory-forbidden' },
    });
    expect(forbidden.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const event = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.requestId === 'probe-memory-forbidden' && line.event === 'security');
    expect(event).toMatchObject({
      type: 'memory_forbidden',
      userId: intruderId,
      memoryId: memory.body.id,
      route: '/v1/memories/:memoryId',
    });
    const metrics = await fetch(`${app.url}/metrics`);
    expect(await metrics.text()).toMatch(/parley_security_events_total\{type="memory_forbidden"\} [1-9]/);
  });
});
