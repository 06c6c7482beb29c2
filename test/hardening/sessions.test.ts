import { describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const CAP = 5;
const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('sessions: cap per user, cursors checked before SQL, listed by last activity', () => {
  const fx = withCluster(2, { MAX_SESSIONS_PER_USER: String(CAP) });

  it(`no cap on sessions per user: exactly ${CAP} of ${3 * CAP} concurrent creations over two replicas succeed, the rest 409 too_many_sessions`, async () => {
    const ownerId = uniqueName('greedy');
    const token = await tokenFor(ownerId);
    const results = await Promise.all(
      Array.from({ length: 3 * CAP }, (_, i) =>
        http('POST', `${fx.cluster.url(i)}/v1/sessions`, { token, body: { title: `s${i}` } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(CAP);
    for (const refused of results.filter((r) => r.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'too_many_sessions', requestId: expect.any(String) });
    }
    const rows = await fx.db.query<{ count: string }>('SELECT count(*) FROM sessions WHERE owner_id = $1', [ownerId]);
    expect(Number(rows[0]?.count)).toBe(CAP);

    // Per user; deleting one makes room for exactly one more.
    const other = await tokenFor(uniqueName('other'));
    expect((await http('POST', `${fx.cluster.url(0)}/v1/sessions`, { token: other, body: {} })).status).toBe(201);
    const kept = results.find((r) => r.status === 201)?.body.id as string;
    expect((await http('DELETE', `${fx.cluster.url(1)}/v1/sessions/${kept}`, { token })).status).toBe(204);
    expect((await http('POST', `${fx.cluster.url(0)}/v1/sessions`, { token, body: {} })).status).toBe(201);
    expect((await http('POST', `${fx.cluster.url(1)}/v1/sessions`, { token, body: {} })).status).toBe(409);

    // POST /v1/chat/send without a session creates one: under the same cap, and nothing is stored.
    const chat = await http('POST', `${fx.cluster.url(0)}/v1/chat/send`, { token, body: { message: 'one more?' } });
    expect(chat.status).toBe(409);
    expect(chat.body.code).toBe('too_many_sessions');
    const after = await fx.db.query<{ count: string }>('SELECT count(*) FROM sessions WHERE owner_id = $1', [ownerId]);
    expect(Number(after[0]?.count)).toBe(CAP);
  });

  it.each([
    ['a non-UUID id', [1767225600000, 'x'.repeat(36)]],
    ['an id that is not a UUID at all', [1767225600000, "'; DROP TABLE sessions; --"]],
    ['a time out of range', [8_640_000_000_000_001, '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10']],
    ['a negative time', [-1e15, '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10']],
    ['a time that is not a number', ['2026-01-01', '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10']],
  ])('session list cursor with %s: 400 invalid_cursor, not a 500', async (_what, value) => {
    const token = await tokenFor(uniqueName('cursor'));
    const response = await http('GET', `${fx.cluster.url(0)}/v1/sessions?cursor=${cursorOf(value)}`, { token });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'invalid_cursor', requestId: expect.any(String) });
  });

  it('sessions are listed by last activity (a send or a rename moves one to the top), and pages follow that order', async () => {
    const token = await tokenFor(uniqueName('active'));
    const api = (method: string, path: string, body?: unknown, i = 0) =>
      http(method, `${fx.cluster.url(i)}${path}`, { token, body });
    const ids: string[] = [];
    for (const title of ['first', 'second', 'third']) {
      ids.push((await api('POST', '/v1/sessions', { title })).body.id as string);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [first, second, third] = ids as [string, string, string];
    const order = async (): Promise<string[]> => {
      const page1 = await api('GET', '/v1/sessions?limit=2', undefined, 1);
      const page2 = await api('GET', `/v1/sessions?limit=2&cursor=${page1.body.nextCursor as string}`, undefined, 0);
      expect(page2.body.nextCursor).toBeNull();
      return [...page1.body.items, ...page2.body.items].map((s: any) => s.id as string);
    };
    expect(await order()).toEqual([third, second, first]);

    const sent = await api('POST', `/v1/sessions/${first}/messages`, { content: 'hello' });
    expect(sent.status).toBe(202);
    expect(await order()).toEqual([first, third, second]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await api('PATCH', `/v1/sessions/${second}`, { title: 'renamed' }, 1)).status).toBe(200);
    const listed = await api('GET', '/v1/sessions', undefined, 0);
    expect(listed.body.items.map((s: any) => s.id)).toEqual([second, first, third]);
    const times = listed.body.items.map((s: any) => Date.parse(s.updatedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});
