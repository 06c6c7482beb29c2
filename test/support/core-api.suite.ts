import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badTokens } from './tokens.js';
import { eventually, http } from './http.js';

export interface ApiTarget {
  url: string;
  token(userId: string): Promise<string>;
  /** Tokens that must be refused (signed with the wrong key, expired, `alg: none`...). */
  badTokens(userId: string): Promise<Record<string, string | undefined>>;
  close(): Promise<void>;
}

export { badTokens };

/**
 * The core API contract (sessions, messages, ownership, idempotency), written once and run
 * against every mode Parley can run in.
 */
export function defineCoreApiSuite(mode: string, start: () => Promise<ApiTarget>): void {
  describe(`core API (${mode})`, () => {
    let target: ApiTarget;
    let alice: string;
    let mallory: string;
    const user = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      target = await start();
      alice = await target.token(user('alice'));
      mallory = await target.token(user('mallory'));
    });

    afterAll(async () => {
      await target?.close();
    });

    const api = (method: string, path: string, token?: string, body?: unknown, headers?: Record<string, string>) =>
      http(method, `${target.url}${path}`, { token, body, headers });

    async function newSession(token = alice, title = 'A session'): Promise<string> {
      const created = await api('POST', '/v1/sessions', token, { title });
      expect(created.status).toBe(201);
      return created.body.id as string;
    }

    async function replyCompleted(sessionId: string, replyId: string, token = alice): Promise<any> {
      return eventually(
        async () => {
          const found = await api('GET', `/v1/sessions/${sessionId}/messages/${replyId}`, token);
          return found.body?.status === 'complete' ? found.body : undefined;
        },
        20_000,
        `reply ${replyId}`,
      );
    }

    describe('sessions', () => {
      it('creates, reads, renames, lists newest first and deletes', async () => {
        const first = await newSession(alice, 'first');
        const second = await newSession(alice, 'second');
        const got = await api('GET', `/v1/sessions/${first}`, alice);
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({ id: first, title: 'first', messageCount: 0 });
        expect(new Date(got.body.createdAt).toISOString()).toBe(got.body.createdAt);

        // Listed by last activity: before the rename, which moves `first` to the top.
        const list = await api('GET', '/v1/sessions?limit=1', alice);
        expect(list.status).toBe(200);
        expect(list.body.items.map((s: any) => s.id)).toEqual([second]);
        const next = await api('GET', `/v1/sessions?limit=1&cursor=${list.body.nextCursor as string}`, alice);
        expect(next.body.items.map((s: any) => s.id)).toEqual([first]);

        const renamed = await api('PATCH', `/v1/sessions/${first}`, alice, { title: 'renamed' });
        expect(renamed.status).toBe(200);
        expect(renamed.body.title).toBe('renamed');

        expect((await api('DELETE', `/v1/sessions/${first}`, alice)).status).toBe(204);
        expect((await api('GET', `/v1/sessions/${first}`, alice)).status).toBe(404);
        expect((await api('GET', `/v1/sessions/${first}`, mallory)).status).toBe(404);
        expect((await api('DELETE', `/v1/sessions/${first}`, alice)).status).toBe(404);
      });

      it('lists only the caller’s own sessions', async () => {
        const own = await newSession(alice);
        const foreign = await newSession(mallory);
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const page: any = await api('GET', `/v1/sessions?limit=100${cursor ? `&cursor=${cursor}` : ''}`, alice);
          ids.push(...page.body.items.map((s: any) => s.id));
          cursor = page.body.nextCursor;
        } while (cursor);
        expect(ids).toContain(own);
        expect(ids).not.toContain(foreign);
      });

      it('answers 400 for bad input, never 500', async () => {
        const cases: Array<[string, string, unknown]> = [
          ['POST', '/v1/sessions', { title: 'x'.repeat(201) }],
          ['POST', '/v1/sessions', { title: 42 }],
          ['POST', '/v1/sessions', { title: 'ok', ownerId: 'someone-else' }],
          ['GET', '/v1/sessions?limit=0', undefined],
          ['GET', '/v1/sessions?limit=abc', undefined],
          ['GET', '/v1/sessions?cursor=not-a-cursor', undefined],
        ];
        for (const [method, path, body] of cases) {
          const response = await api(method, path, alice, body);
          expect(response.status, `${method} ${path}`).toBe(400);
          expect(response.body.code).toMatch(/validation_failed|invalid_cursor/);
          expect(response.body.requestId).toBe(response.headers.get('x-request-id'));
        }
      });
    });

    describe('messages', () => {
      it('stores a send and its pending reply, then completes the reply', async () => {
        const sessionId = await newSession();
        const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, alice, { content: 'hello parley' });
        expect(sent.status).toBe(202);
        expect(sent.body.message).toMatchObject({
          seq: 1,
          role: 'user',
          status: 'complete',
          content: 'hello parley',
          replyTo: null,
        });
        expect(sent.body.reply).toMatchObject({ seq: 2, role: 'assistant', replyTo: sent.body.message.id });
        const reply = await replyCompleted(sessionId, sent.body.reply.id);
        expect(reply.content).toContain('hello parley');

        const history = await api('GET', `/v1/sessions/${sessionId}/messages`, alice);
        expect(history.status).toBe(200);
        expect(history.body.items.map((m: any) => m.seq)).toEqual([1, 2]);
        expect(history.body.nextBeforeSeq).toBeNull();
        const session = await api('GET', `/v1/sessions/${sessionId}`, alice);
        expect(session.body.messageCount).toBe(2);
      });

      it('pages history backwards with beforeSeq, ascending within a page', async () => {
        const sessionId = await newSession();
        for (let i = 1; i <= 3; i += 1) {
          const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, alice, { content: `message ${i}` });
          await replyCompleted(sessionId, sent.body.reply.id);
        }
        const latest = await api('GET', `/v1/sessions/${sessionId}/messages?limit=4`, alice);
        expect(latest.body.items.map((m: any) => m.seq)).toEqual([3, 4, 5, 6]);
        expect(latest.body.nextBeforeSeq).toBe(3);
        const older = await api('GET', `/v1/sessions/${sessionId}/messages?limit=4&beforeSeq=3`, alice);
        expect(older.body.items.map((m: any) => m.seq)).toEqual([1, 2]);
        expect(older.body.nextBeforeSeq).toBeNull();
      });

      it('answers 304 to If-None-Match with the current ETag, and 200 once history changed', async () => {
        const sessionId = await newSession();
        const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, alice, { content: 'etag me' });
        await replyCompleted(sessionId, sent.body.reply.id);
        const first = await api('GET', `/v1/sessions/${sessionId}/messages`, alice);
        const etag = first.headers.get('etag') as string;
        expect(etag).toBeTruthy();
        const again = await api('GET', `/v1/sessions/${sessionId}/messages`, alice, undefined, {
          'if-none-match': etag,
        });
        expect(again.status).toBe(304);
        await api('POST', `/v1/sessions/${sessionId}/messages`, alice, { content: 'changed' });
        const changed = await api('GET', `/v1/sessions/${sessionId}/messages`, alice, undefined, {
          'if-none-match': etag,
        });
        expect(changed.status).toBe(200);
      });

      it('stores a repeated send with the same idempotency key once', async () => {
        const sessionId = await newSession();
        const body = { content: 'only once', clientMessageId: 'client-1' };
        const first = await api('POST', `/v1/sessions/${sessionId}/messages`, alice, body);
        const repeats = await Promise.all(
          Array.from({ length: 5 }, () => api('POST', `/v1/sessions/${sessionId}/messages`, alice, body)),
        );
        expect(first.status).toBe(202);
        for (const repeat of repeats) {
          expect(repeat.status).toBe(200);
          expect(repeat.body.message.id).toBe(first.body.message.id);
          expect(repeat.body.reply.id).toBe(first.body.reply.id);
        }
        const sendViaHeader = () =>
          api(
            'POST',
            `/v1/sessions/${sessionId}/messages`,
            alice,
            { content: 'header' },
            { 'idempotency-key': 'header-key' },
          );
        const viaHeader = await sendViaHeader();
        const viaHeaderAgain = await sendViaHeader();
        expect(viaHeader.status).toBe(202);
        expect(viaHeaderAgain.status).toBe(200);
        expect(viaHeaderAgain.body.message.id).toBe(viaHeader.body.message.id);
        const mismatch = await api(
          'POST',
          `/v1/sessions/${sessionId}/messages`,
          alice,
          { content: 'x', clientMessageId: 'a' },
          {
            'idempotency-key': 'b',
          },
        );
        expect(mismatch.status).toBe(400);

        const history = await api('GET', `/v1/sessions/${sessionId}/messages`, alice);
        expect(history.body.items.filter((m: any) => m.role === 'user').map((m: any) => m.content)).toEqual([
          'only once',
          'header',
        ]);
        expect(history.body.items.map((m: any) => m.seq)).toEqual([1, 2, 3, 4]);
      });

      it('refuses bad message input with 400', async () => {
        const sessionId = await newSession();
        const path = `/v1/sessions/${sessionId}/messages`;
        for (const body of [
          {},
          { content: '' },
          { content: '   ' },
          { content: 'x'.repeat(8001) },
          { content: 5 },
          {
            content: 'ok',
            clientMessageId: 'x'.repeat(65),
          },
          { content: 'ok', role: 'assistant' },
        ]) {
          const response = await api('POST', path, alice, body);
          expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
          expect(response.body.code).toBe('validation_failed');
        }
        expect((await api('GET', `${path}?limit=500`, alice)).status).toBe(400);
        expect((await api('GET', `${path}?beforeSeq=-1`, alice)).status).toBe(400);
        expect((await api('GET', `${path}/not-a-uuid`, alice)).status).toBe(400);
        expect((await api('GET', `${path}/${randomUUID()}`, alice)).status).toBe(404);
        expect((await api('POST', path, alice, { content: 'y'.repeat(70_000) })).status).toBe(413);
      });
    });

    describe('ownership matrix', () => {
      it('answers 401/403/400/404 as the contract says and never leaks the victim’s data', async () => {
        const victimSession = await newSession(alice, 'victim-secret-title');
        const sent = await api('POST', `/v1/sessions/${victimSession}/messages`, alice, {
          content: 'victim-secret-content',
        });
        await replyCompleted(victimSession, sent.body.reply.id);
        const messageId = sent.body.message.id as string;
        const routes = (id: string): Array<[string, string, unknown]> => [
          ['GET', `/v1/sessions/${id}`, undefined],
          ['PATCH', `/v1/sessions/${id}`, { title: 'hijacked' }],
          ['DELETE', `/v1/sessions/${id}`, undefined],
          ['POST', `/v1/sessions/${id}/messages`, { content: 'injected' }],
          ['GET', `/v1/sessions/${id}/messages`, undefined],
          ['GET', `/v1/sessions/${id}/messages/${messageId}`, undefined],
        ];
        const bad = await target.badTokens('mallory');
        const credentials: Array<[string, string | undefined, string, number]> = [
          ['another user', mallory, victimSession, 403],
          ['no token', undefined, victimSession, 401],
          ...Object.entries(bad).map(([name, token]): [string, string | undefined, string, number] => [
            name,
            token,
            victimSession,
            401,
          ]),
          ['malformed id', mallory, 'not-a-uuid', 400],
          ['unknown id', mallory, randomUUID(), 404],
        ];
        for (const [who, token, id, expected] of credentials) {
          for (const [method, path, body] of routes(id)) {
            const response = await api(method, path, token, body);
            expect(response.status, `${who}: ${method} ${path}`).toBe(expected);
            expect(response.text).not.toContain('victim-secret');
            expect(response.body.requestId).toBeTruthy();
            if (expected === 403) {
              expect(response.body.code).toBe('session_forbidden');
            }
          }
        }
        const intact = await api('GET', `/v1/sessions/${victimSession}/messages`, alice);
        expect(intact.body.items).toHaveLength(2);
        expect((await api('GET', `/v1/sessions/${victimSession}`, alice)).body.title).toBe('victim-secret-title');
      });
    });

    describe('conventions', () => {
      it('keeps a valid X-Request-Id, replaces an invalid one, and answers unknown routes with JSON 404', async () => {
        const kept = await api('GET', '/health/live', undefined, undefined, { 'x-request-id': 'trace-abc.123:x' });
        expect(kept.headers.get('x-request-id')).toBe('trace-abc.123:x');
        const replaced = await api('GET', '/health/live', undefined, undefined, {
          'x-request-id': 'bad id with spaces',
        });
        expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
        const unknown = await api('GET', '/v1/nothing-here', alice);
        expect(unknown.status).toBe(404);
        expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
        expect(unknown.body.requestId).toBe(unknown.headers.get('x-request-id'));
        const notJson = await http('POST', `${target.url}/v1/sessions`, {
          token: alice,
          headers: { 'content-type': 'application/json' },
        });
        expect([400, 201]).toContain(notJson.status);
      });
    });
  });
}
