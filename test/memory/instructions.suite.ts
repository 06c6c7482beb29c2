import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi, type RecordedRequest } from '../support/fake-openai.js';
import { eventually, http, type HttpResult } from '../support/http.js';

export interface InstructionsTarget {
  /** One or more app processes sharing one database: writes go to the first, reads to the last. */
  urls: string[];
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** The environment that points the app at the fake OpenAI server. */
export function fakeLlmEnv(fake: FakeOpenAi): Record<string, string> {
  return { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl, LLM_API_KEY: 'sk-test', LLM_MODEL: 'fake-model' };
}

/** GET/PATCH /v1/me and custom instructions in prompts, written once and run in every mode. */
export function defineInstructionsSuite(
  mode: string,
  start: (env: Record<string, string>) => Promise<InstructionsTarget>,
): void {
  describe(`custom instructions (${mode})`, () => {
    let fake: FakeOpenAi;
    let target: InstructionsTarget;
    const user = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;
    const writer = (): string => target.urls[0] as string;
    const reader = (): string => target.urls[target.urls.length - 1] as string;
    const api = (base: string, method: string, path: string, token?: string, body?: unknown): Promise<HttpResult> =>
      http(method, `${base}${path}`, { token, body });

    beforeAll(async () => {
      fake = await FakeOpenAi.start();
      target = await start(fakeLlmEnv(fake));
    });

    afterAll(async () => {
      await target?.close();
      await fake?.stop();
    });

    /** Sends `content` in a new session and waits for its reply to complete. */
    async function converse(token: string, content: string): Promise<void> {
      const session = await api(writer(), 'POST', '/v1/sessions', token, {});
      expect(session.status, session.text).toBe(201);
      const sent = await api(writer(), 'POST', `/v1/sessions/${session.body.id as string}/messages`, token, {
        content,
      });
      expect(sent.status, sent.text).toBe(202);
      const replyPath = `/v1/sessions/${session.body.id as string}/messages/${sent.body.reply.id as string}`;
      await eventually(
        async () => {
          const reply = await api(reader(), 'GET', replyPath, token);
          return reply.body?.status === 'complete' ? true : undefined;
        },
        30_000,
        `the reply to "${content}"`,
      );
    }

    const promptsWith = (marker: string): RecordedRequest[] =>
      fake.requests.filter((r) => r.body.messages.some((m) => m.role === 'user' && m.content.includes(marker)));

    it('reads the defaults, changes each field alone, clears with null, on any process', async () => {
      const token = await target.token(user('prefs'));
      const initial = await api(reader(), 'GET', '/v1/me', token);
      expect(initial.status, initial.text).toBe(200);
      expect(initial.body).toEqual({ id: expect.any(String), instructions: null, memoryExtraction: true });

      const set = await api(writer(), 'PATCH', '/v1/me', token, { instructions: 'Answer in haiku.' });
      expect(set.status, set.text).toBe(200);
      expect(set.body).toMatchObject({ instructions: 'Answer in haiku.', memoryExtraction: true });
      expect((await api(reader(), 'GET', '/v1/me', token)).body.instructions).toBe('Answer in haiku.');

      const off = await api(writer(), 'PATCH', '/v1/me', token, { memoryExtraction: false });
      expect(off.body).toMatchObject({ instructions: 'Answer in haiku.', memoryExtraction: false });
      expect((await api(reader(), 'GET', '/v1/me', token)).body).toMatchObject({
        instructions: 'Answer in haiku.',
        memoryExtraction: false,
      });

      const cleared = await api(writer(), 'PATCH', '/v1/me', token, { instructions: null });
      expect(cleared.body).toMatchObject({ instructions: null, memoryExtraction: false });
      expect((await api(reader(), 'GET', '/v1/me', token)).body.instructions).toBeNull();
      expect((await api(writer(), 'PATCH', '/v1/me', token, { instructions: '   ' })).body.instructions).toBeNull();
      expect((await api(writer(), 'PATCH', '/v1/me', token, { instructions: 'x'.repeat(2000) })).status).toBe(200);
    });

    it.each([
      ['instructions of 2001 characters', { instructions: 'x'.repeat(2001) }],
      ['instructions that are not text', { instructions: 42 }],
      ['instructions with NUL', { instructions: 'a\u0000b' }],
      ['memoryExtraction that is not a boolean', { memoryExtraction: 'no' }],
      ['memoryExtraction null', { memoryExtraction: null }],
      ['an unknown field', { somethingElse: true }],
    ])('refuses %s with 400 validation_failed and changes nothing', async (_, body) => {
      const token = await target.token(user('bad'));
      const refused = await api(writer(), 'PATCH', '/v1/me', token, body);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body).toMatchObject({ code: 'validation_failed', requestId: expect.any(String) });
      expect((await api(reader(), 'GET', '/v1/me', token)).body).toMatchObject({
        instructions: null,
        memoryExtraction: true,
      });
    });

    it('answers 401 without a token', async () => {
      expect((await api(reader(), 'GET', '/v1/me')).status).toBe(401);
      expect((await api(writer(), 'PATCH', '/v1/me', undefined, { instructions: 'x' })).status).toBe(401);
    });

    it("puts each user's instructions right after the system prompt of their prompts, never in another user's", async () => {
      const users = await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          const id = user(`u${i}`);
          return {
            id,
            token: await target.token(id),
            canary: `canary-instruction-${randomUUID()}`,
            marker: `question-${randomUUID()}`,
          };
        }),
      );
      // Every other user has instructions; the rest have none.
      for (const [i, u] of users.entries()) {
        if (i % 2 === 0) {
          const set = await api(writer(), 'PATCH', '/v1/me', u.token, { instructions: `Always mention ${u.canary}.` });
          expect(set.status, set.text).toBe(200);
        }
      }
      await Promise.all(users.map((u) => converse(u.token, `Hello, ${u.marker}`)));

      for (const [i, u] of users.entries()) {
        const own = promptsWith(u.marker);
        expect(own.length).toBeGreaterThan(0);
        for (const request of own) {
          const messages = request.body.messages;
          expect(messages[0]?.role).toBe('system');
          if (i % 2 === 0) {
            expect(messages[1]).toEqual({ role: 'system', content: expect.stringContaining(u.canary) });
          } else {
            expect(messages.filter((m) => m.role === 'system')).toHaveLength(1);
          }
          for (const other of users) {
            if (other !== u) {
              expect(JSON.stringify(messages)).not.toContain(other.canary);
            }
          }
        }
      }

      // Cleared: the next prompt has none; changed: the next prompt has the new ones (no stale cache).
      const [first] = users;
      if (first === undefined) {
        throw new Error('no users');
      }
      await api(writer(), 'PATCH', '/v1/me', first.token, { instructions: null });
      const cleared = `cleared-${randomUUID()}`;
      await converse(first.token, cleared);
      expect(JSON.stringify(promptsWith(cleared))).not.toContain(first.canary);
      const renewed = `renewed-instruction-${randomUUID()}`;
      await api(writer(), 'PATCH', '/v1/me', first.token, { instructions: renewed });
      const after = `after-${randomUUID()}`;
      await converse(first.token, after);
      expect(promptsWith(after)[0]?.body.messages[1]?.content).toContain(renewed);
    });
  });
}
