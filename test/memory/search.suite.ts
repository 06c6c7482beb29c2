import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, type HttpResult } from '../support/http.js';

export interface SearchTarget {
  /** One or more app processes sharing one database: writes go to the first, reads to the last. */
  urls: string[];
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** The environment the suite needs: every user sends several messages at once. */
export const SEARCH_ENV = { MAX_PENDING_REPLIES: '50' };

const USERS = 20;
const SESSIONS = 3;
const MESSAGES = 2;
const PAGE = 5;

interface SearchUser {
  token: string;
  canary: string;
  sessions: string[];
}

/** GET /v1/search, written once and run in every mode Parley can run in. */
export function defineSearchSuite(mode: string, start: () => Promise<SearchTarget>): void {
  describe(`search across sessions (${mode})`, () => {
    let target: SearchTarget;
    let users: SearchUser[];
    const writer = (): string => target.urls[0] as string;
    const reader = (): string => target.urls[target.urls.length - 1] as string;
    const api = (base: string, method: string, path: string, token?: string, body?: unknown): Promise<HttpResult> =>
      http(method, `${base}${path}`, { token, body });

    /** Every page of a search, following nextCursor. */
    async function searchAll(token: string, q: string, base = reader()): Promise<any[]> {
      const items: any[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100; page += 1) {
        const query = `q=${encodeURIComponent(q)}&limit=${PAGE}${cursor === null ? '' : `&cursor=${cursor}`}`;
        const found = await api(base, 'GET', `/v1/search?${query}`, token);
        expect(found.status, found.text).toBe(200);
        expect(Object.keys(found.body).sort()).toEqual(['items', 'nextCursor']);
        expect(found.body.items.length).toBeLessThanOrEqual(PAGE);
        items.push(...found.body.items);
        cursor = found.body.nextCursor;
        if (cursor === null) {
          return items;
        }
      }
      throw new Error('the search never ended');
    }

    beforeAll(async () => {
      target = await start();
      users = await Promise.all(
        Array.from({ length: USERS }, async (_, u) => {
          const token = await target.token(`searcher${u}-${randomUUID().slice(0, 8)}`);
          const canary = `canary${u}z${randomBytes(4).toString('hex')}`;
          const sessions: string[] = [];
          for (let s = 0; s < SESSIONS; s += 1) {
            const created = await api(writer(), 'POST', '/v1/sessions', token, { title: `trip ${s}` });
            expect(created.status, created.text).toBe(201);
            sessions.push(created.body.id as string);
          }
          // Users send at once; each user's own messages one after another (a pool of a few connections).
          for (const [s, sessionId] of sessions.entries()) {
            for (let m = 0; m < MESSAGES; m += 1) {
              const sent = await api(writer(), 'POST', `/v1/sessions/${sessionId}/messages`, token, {
                content: `Tell me about ${canary} number ${s}-${m} and the harbour`,
              });
              expect(sent.status, sent.text).toBe(202);
            }
          }
          return { token, canary, sessions };
        }),
      );
      // Replies echo the message (local provider), so each one holds the canary once complete.
      await Promise.all(
        users.map((user) =>
          eventually(
            async () => {
              for (const sessionId of user.sessions) {
                const history = await api(reader(), 'GET', `/v1/sessions/${sessionId}/messages?limit=100`, user.token);
                if (
                  history.body.items.some((m: any) => m.status !== 'complete') ||
                  history.body.items.length !== 2 * MESSAGES
                ) {
                  return undefined;
                }
              }
              return true;
            },
            60_000,
            'every reply',
          ),
        ),
      );
    }, 180_000);

    afterAll(async () => {
      await target?.close();
    });

    it(`gives each of ${USERS} users exactly their own messages from all their sessions, each once over the pages`, async () => {
      for (const user of users) {
        const hits = await searchAll(user.token, user.canary);
        expect(hits).toHaveLength(SESSIONS * MESSAGES * 2);
        expect(new Set(hits.map((h) => h.messageId)).size).toBe(hits.length);
        expect(new Set(hits.map((h) => h.sessionId))).toEqual(new Set(user.sessions));
        for (const hit of hits) {
          expect(Object.keys(hit).sort()).toEqual(['createdAt', 'messageId', 'role', 'seq', 'sessionId', 'snippet']);
          expect(hit.snippet).toContain(`**${user.canary}**`);
          expect(['user', 'assistant']).toContain(hit.role);
          expect(new Date(hit.createdAt).toISOString()).toBe(hit.createdAt);
        }
        expect(hits.filter((h) => h.role === 'user')).toHaveLength(SESSIONS * MESSAGES);
        // Nobody finds anyone else's words.
        const other = users[(users.indexOf(user) + 1) % USERS] as SearchUser;
        const stolen = await api(reader(), 'GET', `/v1/search?q=${other.canary}`, user.token);
        expect(stolen.status).toBe(200);
        expect(stolen.body).toEqual({ items: [], nextCursor: null });
      }
    });

    it('ranks the better match first and takes web-search syntax', async () => {
      const user = users[0] as SearchUser;
      const [sessionId] = user.sessions;
      const strong = `${user.canary} ${user.canary} ${user.canary} lighthouse`;
      const sent = await api(writer(), 'POST', `/v1/sessions/${sessionId as string}/messages`, user.token, {
        content: strong,
      });
      expect(sent.status).toBe(202);
      const top = await eventually(
        async () => {
          const found = await api(reader(), 'GET', `/v1/search?q=${user.canary}&limit=1`, user.token);
          // The reply echoes the message (local provider): either of the two may come first.
          const first = found.body.items[0]?.messageId as string | undefined;
          return first === sent.body.message.id || first === sent.body.reply.id ? found : undefined;
        },
        20_000,
        'the new message or its reply ranked first',
      );
      expect(top.body.nextCursor).not.toBeNull();
      const phrase = await api(
        reader(),
        'GET',
        `/v1/search?q=${encodeURIComponent(`"${user.canary} lighthouse"`)}`,
        user.token,
      );
      expect(phrase.body.items.map((h: any) => h.messageId)).toContain(sent.body.message.id);
      const excluded = await api(
        reader(),
        'GET',
        `/v1/search?q=${encodeURIComponent(`${user.canary} -harbour`)}&limit=100`,
        user.token,
      );
      expect(excluded.body.items.every((h: any) => !h.snippet.includes('harbour'))).toBe(true);
      expect(excluded.body.items.map((h: any) => h.messageId)).toContain(sent.body.message.id);
    });

    it('no longer finds the messages of a deleted session, on any process', async () => {
      const user = users[1] as SearchUser;
      expect(await searchAll(user.token, user.canary)).toHaveLength(SESSIONS * MESSAGES * 2);
      const [gone, ...kept] = user.sessions;
      expect((await api(writer(), 'DELETE', `/v1/sessions/${gone as string}`, user.token)).status).toBe(204);
      for (const base of target.urls) {
        const hits = await searchAll(user.token, user.canary, base);
        expect(hits).toHaveLength((SESSIONS - 1) * MESSAGES * 2);
        expect(new Set(hits.map((h) => h.sessionId))).toEqual(new Set(kept));
      }
    });

    it('is a rate-limited read and refuses bad input with 400', async () => {
      const user = users[2] as SearchUser;
      const found = await api(reader(), 'GET', `/v1/search?q=${user.canary}`, user.token);
      expect(found.headers.get('x-ratelimit-limit')).toBe('1000000');
      for (const query of [
        '',
        '?q=',
        '?q=%20',
        `?q=${'x'.repeat(501)}`,
        '?q=a&limit=0',
        '?q=a&limit=101',
        '?q=a%00b',
      ]) {
        const refused = await api(reader(), 'GET', `/v1/search${query}`, user.token);
        expect(refused.status, `${query}: ${refused.text}`).toBe(400);
        expect(refused.body).toMatchObject({ code: 'validation_failed', requestId: expect.any(String) });
      }
      const forged = [
        'not-a-cursor',
        Buffer.from('[1,2]').toString('base64url'),
        Buffer.from(JSON.stringify([0.1, -5, randomUUID()])).toString('base64url'),
        Buffer.from(JSON.stringify(['x', 5, randomUUID()])).toString('base64url'),
        Buffer.from(JSON.stringify([0.1, 5, 'nope'])).toString('base64url'),
      ];
      for (const cursor of forged) {
        const refused = await api(reader(), 'GET', `/v1/search?q=a&cursor=${cursor}`, user.token);
        expect(refused.status, refused.text).toBe(400);
        expect(refused.body).toMatchObject({ code: 'invalid_cursor' });
      }
      for (const q of [
        '!!!',
        '"',
        'or',
        '-',
        '(a | b) & !c:*',
        '-'.repeat(400),
        Array.from({ length: 60 }, (_, i) => `w${i}`).join(' or '),
      ]) {
        const odd = await api(reader(), 'GET', `/v1/search?q=${encodeURIComponent(q)}`, user.token);
        expect(odd.status, `${q}: ${odd.text}`).toBe(200);
      }
      expect((await api(reader(), 'GET', '/v1/search?q=a')).status).toBe(401);
    });
  });
}
