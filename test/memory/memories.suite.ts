import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, type HttpResult } from '../support/http.js';
import { badTokens } from '../support/tokens.js';

export interface MemoryTarget {
  /** One or more app processes sharing one database: writes go to the first, reads to the last. */
  urls: string[];
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** RATE_LIMIT_READS in the test environments (test/support/services.ts, embedded.ts). */
const READS_LIMIT = '1000000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The /v1/memories contract, written once and run in every mode Parley can run in. */
export function defineMemoriesSuite(mode: string, start: () => Promise<MemoryTarget>): void {
  describe(`memories (${mode})`, () => {
    let target: MemoryTarget;
    const user = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;
    const writer = (): string => target.urls[0] as string;
    const reader = (): string => target.urls[target.urls.length - 1] as string;

    beforeAll(async () => {
      target = await start();
    });

    afterAll(async () => {
      await target?.close();
    });

    const api = (base: string, method: string, path: string, token?: string, body?: unknown): Promise<HttpResult> =>
      http(method, `${base}${path}`, { token, body });

    async function remember(token: string, content: string): Promise<any> {
      const created = await api(writer(), 'POST', '/v1/memories', token, { content });
      expect(created.status, created.text).toBe(201);
      return created.body;
    }

    async function list(token: string, query = ''): Promise<any[]> {
      const listed = await api(reader(), 'GET', `/v1/memories${query}`, token);
      expect(listed.status, listed.text).toBe(200);
      expect(Object.keys(listed.body)).toEqual(['items', 'nextCursor']);
      return listed.body.items;
    }

    const contents = (items: any[]): string[] => items.map((m) => m.content as string);

    it('remembers on one process and lists on another: own memories only, newest first', async () => {
      const alice = await target.token(user('alice'));
      const bob = await target.token(user('bob'));
      const created = [];
      for (const content of ['first thing', 'second thing', 'third thing']) {
        created.push(await remember(alice, content));
      }
      const bobs = await remember(bob, 'bob thing');
      for (const memory of created) {
        expect(Object.keys(memory).sort()).toEqual(['content', 'createdAt', 'id', 'messageId', 'sessionId', 'source']);
        expect(memory).toMatchObject({ sessionId: null, messageId: null });
        expect(memory.id).toMatch(UUID);
        expect(memory.source).toBe('user');
        expect(new Date(memory.createdAt).toISOString()).toBe(memory.createdAt);
      }

      const items = await list(alice);
      expect(items).toHaveLength(3);
      expect(new Set(items.map((m) => m.id))).toEqual(new Set(created.map((m) => m.id)));
      expect(items.map((m) => m.createdAt)).toEqual(
        items
          .map((m) => m.createdAt)
          .sort()
          .reverse(),
      );
      expect(items).toContainEqual(created[1]);
      expect(await list(alice, '?limit=2')).toEqual(items.slice(0, 2));
      expect(await list(alice, '?q=&limit=1')).toEqual(items.slice(0, 1));
      expect(await list(bob)).toEqual([bobs]);

      // Every memory route counts against the caller's reads limit.
      for (const [method, path] of [
        ['GET', '/v1/memories'],
        ['POST', '/v1/memories'],
        ['DELETE', '/v1/memories'],
      ]) {
        const response = await api(
          writer(),
          method as string,
          path as string,
          bob,
          method === 'POST' ? { content: 'x' } : undefined,
        );
        expect(response.headers.get('x-ratelimit-limit'), `${method} ${path}`).toBe(READS_LIMIT);
      }
    });

    it('searches full text with stemming, phrases and exclusions, most relevant first', async () => {
      const alice = await target.token(user('alice'));
      const restaurant = await remember(alice, 'I am running a vegetarian restaurant in Lisbon');
      const cat = await remember(alice, 'My cat is called Tom');
      const lisbonLover = await remember(alice, 'Lisbon, Lisbon, Lisbon: I love Lisbon and its trams');

      expect(contents(await list(alice, '?q=runs%20lisbon'))).toEqual([restaurant.content]);
      expect(contents(await list(alice, '?q=cats'))).toEqual([cat.content]);
      expect(contents(await list(alice, `?q=${encodeURIComponent('"vegetarian restaurant"')}`))).toEqual([
        restaurant.content,
      ]);
      expect(contents(await list(alice, '?q=lisbon%20-vegetarian'))).toEqual([lisbonLover.content]);
      expect(contents(await list(alice, '?q=lisbon'))).toEqual([lisbonLover.content, restaurant.content]);
      expect(contents(await list(alice, '?q=lisbon&limit=1'))).toEqual([lisbonLover.content]);
      expect(contents(await list(alice, '?q=tom%20or%20trams'))).toEqual(
        expect.arrayContaining([cat.content, lisbonLover.content]),
      );
      expect(await list(alice, '?q=the')).toEqual([]);
      expect(await list(alice, '?q=submarine')).toEqual([]);
      for (const syntax of ["( :* & | ! \\ '", '""', '-', 'or', '<->', "'; DROP TABLE memories; --"]) {
        const response = await api(reader(), 'GET', `/v1/memories?q=${encodeURIComponent(syntax)}`, alice);
        expect(response.status, syntax).toBe(200);
      }
      expect(await list(alice)).toHaveLength(3);
    });

    it('never shows one user’s memories to another, search included, even with the exact words', async () => {
      const victim = await target.token(user('victim'));
      const mallory = await target.token(user('mallory'));
      const secret = 'victim-secret quokka marmalade recipe from grandmother';
      await remember(victim, secret);
      const own = await remember(mallory, 'I like quokka pictures');

      for (const q of [secret, 'quokka', 'marmalade', 'grandmother recipe', 'victim-secret']) {
        const response = await api(reader(), 'GET', `/v1/memories?q=${encodeURIComponent(q)}&limit=100`, mallory);
        expect(response.status).toBe(200);
        expect(response.text, q).not.toContain('victim-secret');
        expect(response.text, q).not.toContain('marmalade');
      }
      expect(await list(mallory, '?q=quokka')).toEqual([own]);
      expect(await list(mallory, '?limit=100')).toEqual([own]);
      expect(contents(await list(victim, '?q=quokka'))).toEqual([secret]);
    });

    it('answers 403/401/400/404 on another user’s memory as for sessions, and never leaks it', async () => {
      const victim = await target.token(user('victim'));
      const mallory = await target.token(user('mallory'));
      const memory = await remember(victim, 'victim-secret: the safe code is zebra-crossing');
      const bad = await badTokens('mallory');
      const cases: Array<[string, string | undefined, string, number, string | undefined]> = [
        ['another user', mallory, memory.id as string, 403, 'memory_forbidden'],
        ['no token', undefined, memory.id as string, 401, undefined],
        ...Object.entries(bad).map(([name, token]): [string, string | undefined, string, number, undefined] => [
          name,
          token,
          memory.id as string,
          401,
          undefined,
        ]),
        ['malformed id', mallory, 'not-a-uuid', 400, 'invalid_id'],
        ['malformed id (owner)', victim, `${memory.id as string}x`, 400, 'invalid_id'],
        ['unknown id', mallory, randomUUID(), 404, 'memory_not_found'],
        ['unknown id (owner)', victim, randomUUID(), 404, 'memory_not_found'],
      ];
      for (const [who, token, id, expected, code] of cases) {
        const response = await api(writer(), 'DELETE', `/v1/memories/${id}`, token);
        expect(response.status, who).toBe(expected);
        expect(response.text, who).not.toContain('victim-secret');
        expect(response.text, who).not.toContain('zebra');
        expect(response.body.requestId, who).toBe(response.headers.get('x-request-id'));
        if (code !== undefined) {
          expect(response.body.code, who).toBe(code);
        }
      }
      for (const [method, body] of [
        ['GET', undefined],
        ['POST', { content: 'injected' }],
        ['DELETE', undefined],
      ] as const) {
        for (const [name, token] of Object.entries(bad)) {
          const response = await api(writer(), method, '/v1/memories', token, body);
          expect(response.status, `${name}: ${method} /v1/memories`).toBe(401);
          expect(response.text).not.toContain('victim-secret');
        }
      }
      expect(await list(victim)).toEqual([memory]);

      expect((await api(writer(), 'DELETE', `/v1/memories/${memory.id as string}`, victim)).status).toBe(204);
      expect(await list(victim)).toEqual([]);
      for (const token of [victim, mallory]) {
        const again = await api(reader(), 'DELETE', `/v1/memories/${memory.id as string}`, token);
        expect(again.status).toBe(404);
      }
    });

    it('DELETE /v1/memories forgets everything about the caller and nothing about anyone else', async () => {
      const alice = await target.token(user('alice'));
      const bob = await target.token(user('bob'));
      for (let i = 0; i < 5; i += 1) {
        await remember(alice, `alice memory ${i}`);
      }
      const bobs = await remember(bob, 'bob memory');
      const forgotten = await api(writer(), 'DELETE', '/v1/memories', alice);
      expect(forgotten.status).toBe(204);
      expect(forgotten.text).toBe('');
      expect(await list(alice)).toEqual([]);
      expect(await list(alice, '?q=memory')).toEqual([]);
      expect(await list(bob)).toEqual([bobs]);
      expect((await api(writer(), 'DELETE', '/v1/memories', alice)).status).toBe(204);
      expect((await api(writer(), 'DELETE', '/v1/memories/', alice)).status).toBe(404);
      expect(await list(bob)).toEqual([bobs]);
    });

    it('keeps memories when a session is deleted', async () => {
      const alice = await target.token(user('alice'));
      const memory = await remember(alice, 'I prefer answers in Portuguese');
      const session = await api(writer(), 'POST', '/v1/sessions', alice, { title: 'to be deleted' });
      expect(session.status).toBe(201);
      const sent = await api(writer(), 'POST', `/v1/sessions/${session.body.id as string}/messages`, alice, {
        content: 'I prefer answers in Portuguese',
      });
      expect(sent.status).toBe(202);
      expect((await api(writer(), 'DELETE', `/v1/sessions/${session.body.id as string}`, alice)).status).toBe(204);
      expect(await list(alice)).toEqual([memory]);
    });

    it('refuses bad input with 400 validation_failed, never 500', async () => {
      const alice = await target.token(user('alice'));
      const bodies: unknown[] = [
        {},
        { content: '' },
        { content: '   \n\t' },
        { content: 'x'.repeat(2001) },
        { content: 42 },
        { content: ['a'] },
        { content: null },
        { content: 'nul \u0000 inside' },
        { content: 'ok', source: 'extracted' },
        { content: 'ok', ownerId: 'someone-else' },
      ];
      for (const body of bodies) {
        const response = await api(writer(), 'POST', '/v1/memories', alice, body);
        expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
      const queries = ['limit=0', 'limit=101', 'limit=-1', 'limit=1.5', 'limit=abc', `q=${'x'.repeat(501)}`, 'q=%00'];
      for (const query of queries) {
        const response = await api(reader(), 'GET', `/v1/memories?${query}`, alice);
        expect(response.status, query).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
      // An unknown query parameter (a cache-buster) is ignored, not refused.
      expect((await api(reader(), 'GET', '/v1/memories?other=1', alice)).status).toBe(200);
      expect(await list(alice)).toEqual([]);

      const longest = await remember(alice, 'y'.repeat(2000));
      expect(longest.content).toHaveLength(2000);
      const unicode = await remember(alice, 'Ação ✓ 😀 日本語');
      expect(unicode.content).toBe('Ação ✓ 😀 日本語');
      expect(await list(alice, '?limit=100')).toHaveLength(2);
      expect(await list(alice, '?limit=1')).toHaveLength(1);
    });

    it('describes the routes in the OpenAPI document with schemas, examples and bearer auth', async () => {
      const document = (await http('GET', `${reader()}/docs-json`)).body;
      const collection = document.paths['/v1/memories'];
      const item = document.paths['/v1/memories/{memoryId}'];
      expect(Object.keys(collection).sort()).toEqual(['delete', 'get', 'post']);
      expect(Object.keys(item)).toEqual(['delete']);
      for (const operation of [collection.get, collection.post, collection.delete, item.delete]) {
        expect(operation.security).toEqual([{ bearer: [] }]);
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '401', '429']));
      }
      expect(Object.keys(collection.post.responses)).toContain('201');
      expect(Object.keys(item.delete.responses)).toEqual(expect.arrayContaining(['204', '403', '404']));
      expect(collection.get.parameters.map((p: any) => p.name).sort()).toEqual(['cursor', 'limit', 'q']);
      const memory = document.components.schemas.MemoryResponseDto;
      expect(Object.keys(memory.properties).sort()).toEqual([
        'content',
        'createdAt',
        'id',
        'messageId',
        'sessionId',
        'source',
      ]);
      expect(memory.properties.source.enum).toEqual(['user', 'extracted']);
      expect(document.components.schemas.CreateMemoryDto.properties.content).toMatchObject({
        minLength: 1,
        maxLength: 2000,
      });
    });
  });
}
