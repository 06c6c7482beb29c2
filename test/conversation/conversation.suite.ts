import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { openSse, supersededReplyIds, type SseClient } from '../support/sse.js';

export const SYSTEM_PROMPT = 'You are the Parley test assistant.';

/** The provider settings of every app the suite runs against: the fake OpenAI server, quick retries. */
export function fakeProviderEnv(fake: FakeOpenAi): Record<string, string> {
  return {
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: fake.baseUrl,
    LLM_MODEL: 'fake-model',
    LLM_SYSTEM_PROMPT: SYSTEM_PROMPT,
    LLM_RETRY_BASE_MS: '20',
    LLM_TIMEOUT_MS: '5000',
  };
}

/** A question whose fake answer has about `words` tokens: long enough to stop halfway. */
export function longQuestion(words = 60, tag = 'w'): string {
  return Array.from({ length: words }, (_, i) => `${tag}${i}`).join(' ');
}

/** The deltas a subscriber saw of one reply, joined (of its last attempt). */
export function seenText(sse: SseClient, replyId: string): string {
  const deltas = sse.events.filter((e) => e.event === 'reply.delta' && e.data.messageId === replyId);
  const last = Math.max(0, ...deltas.map((e) => e.data.attempt as number));
  return deltas
    .filter((e) => e.data.attempt === last)
    .map((e) => e.data.delta as string)
    .join('');
}

export interface ConversationTarget {
  url: string;
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

type Prompt = Array<{ role: string; content: string }>;

/**
 * Conversation control (the message tree, editing, branches, reading a branch), written once and
 * run against every mode Parley runs in. `start` gets the fake OpenAI server the app must use.
 */
export function defineConversationSuite(mode: string, start: (fake: FakeOpenAi) => Promise<ConversationTarget>): void {
  describe(`conversation control (${mode})`, () => {
    let fake: FakeOpenAi;
    let target: ConversationTarget;
    let alice: string;

    beforeAll(async () => {
      fake = await FakeOpenAi.start();
      target = await start(fake);
      alice = await target.token(`alice-${randomUUID().slice(0, 8)}`);
    });

    afterAll(async () => {
      await target?.close();
      await fake?.stop();
    });

    beforeEach(() => fake.reset());

    // A model call aborted at the end of one test is seen closed by the fake at its next token:
    // in the next test's counts, unless the test waits for it here.
    afterEach(async () => {
      await eventually(async () => (fake.inFlight === 0 ? true : undefined), 20_000, 'no model call in flight');
    });

    const api = (method: string, path: string, body?: unknown, token = alice) =>
      http(method, `${target.url}${path}`, { token, body });

    async function newSession(token = alice): Promise<string> {
      const created = await api('POST', '/v1/sessions', { title: 'tree' }, token);
      expect(created.status).toBe(201);
      return created.body.id as string;
    }

    async function finished(sessionId: string, replyId: string, token = alice): Promise<any> {
      return eventually(
        async () => {
          const found = await api('GET', `/v1/sessions/${sessionId}/messages/${replyId}`, undefined, token);
          return ['complete', 'failed', 'stopped', 'superseded'].includes(found.body?.status) ? found.body : undefined;
        },
        20_000,
        `reply ${replyId}`,
      );
    }

    /** Sends and waits for the reply to complete; returns both, and the prompt the model got. */
    async function exchange(sessionId: string, content: string, extra: Record<string, unknown> = {}) {
      const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, { content, ...extra });
      expect(sent.status, sent.text).toBe(202);
      const reply = await finished(sessionId, sent.body.reply.id as string);
      expect(reply.status).toBe('complete');
      const prompt = fake.requests.find((r) => r.body.messages.at(-1)?.content === content)?.body.messages as Prompt;
      expect(prompt, `the prompt of "${content}"`).toBeDefined();
      return { message: sent.body.message, reply, prompt };
    }

    const branch = async (sessionId: string, query = '') => {
      const page = await api('GET', `/v1/sessions/${sessionId}/messages${query}`);
      expect(page.status, page.text).toBe(200);
      return page.body as { items: any[]; nextBeforeSeq: number | null };
    };

    describe('the message tree', () => {
      it('links each message to its parent: a plain send continues the newest message', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'first question');
        const two = await exchange(sessionId, 'second question');
        expect(one.message).toMatchObject({ seq: 1, parentId: null, replyTo: null });
        expect(one.reply).toMatchObject({ seq: 2, parentId: one.message.id, replyTo: one.message.id });
        expect(two.message).toMatchObject({ seq: 3, parentId: one.reply.id });
        expect(two.reply).toMatchObject({ seq: 4, parentId: two.message.id });
        const page = await branch(sessionId);
        expect(page.items.map((m) => m.id)).toEqual([one.message.id, one.reply.id, two.message.id, two.reply.id]);
        expect(page.items.every((m) => m.siblingCount === 1 && m.siblingIndex === 0)).toBe(true);
      });

      it('an edit starts a branch whose prompt holds nothing of the other branch', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'plan a trip to Lisbon');
        const two = await exchange(sessionId, 'two days only');
        const edited = await exchange(sessionId, 'three days instead', { parentId: one.reply.id });
        expect(edited.message).toMatchObject({ seq: 5, parentId: one.reply.id });
        expect(edited.prompt).toEqual([
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: 'plan a trip to Lisbon' },
          { role: 'assistant', content: one.reply.content },
          { role: 'user', content: 'three days instead' },
        ]);

        // The default branch is the newest message's: the edited one; the other is one leafId away.
        const newest = await branch(sessionId);
        expect(newest.items.map((m) => m.id)).toEqual([
          one.message.id,
          one.reply.id,
          edited.message.id,
          edited.reply.id,
        ]);
        expect(newest.items[2]).toMatchObject({ siblingCount: 2, siblingIndex: 1 });
        const older = await branch(sessionId, `?leafId=${two.reply.id}`);
        expect(older.items.map((m) => m.id)).toEqual([one.message.id, one.reply.id, two.message.id, two.reply.id]);
        expect(older.items[2]).toMatchObject({ siblingCount: 2, siblingIndex: 0 });
        expect(older.items[0]).toMatchObject({ siblingCount: 1, siblingIndex: 0 });

        // A plain send now continues the edited branch.
        const next = await exchange(sessionId, 'and what to eat');
        expect(next.message.parentId).toBe(edited.reply.id);
        expect(next.prompt.map((m) => m.content)).not.toContain('two days only');
        expect(next.prompt.map((m) => m.content)).toContain('three days instead');
      });

      it('a null parent starts a new root whose prompt is only itself', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'about cats');
        const root = await exchange(sessionId, 'about dogs', { parentId: null });
        expect(root.message.parentId).toBeNull();
        expect(root.prompt).toEqual([
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: 'about dogs' },
        ]);
        const page = await branch(sessionId);
        expect(page.items.map((m) => m.id)).toEqual([root.message.id, root.reply.id]);
        expect(page.items[0]).toMatchObject({ siblingCount: 2, siblingIndex: 1 });
        const first = await branch(sessionId, `?leafId=${one.message.id}`);
        expect(first.items.map((m) => m.id)).toEqual([one.message.id]);
      });

      it('pages through a branch with limit and beforeSeq', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'q one');
        await exchange(sessionId, 'q two');
        const edit = await exchange(sessionId, 'q two again', { parentId: one.reply.id });
        const last = await exchange(sessionId, 'q three');
        const page1 = await branch(sessionId, '?limit=3');
        expect(page1.items.map((m) => m.seq)).toEqual([edit.reply.seq, last.message.seq, last.reply.seq]);
        expect(page1.nextBeforeSeq).toBe(edit.reply.seq);
        const page2 = await branch(sessionId, `?limit=3&beforeSeq=${page1.nextBeforeSeq}`);
        expect(page2.items.map((m) => m.seq)).toEqual([1, 2, edit.message.seq]);
        expect(page2.nextBeforeSeq).toBeNull();
        // A known leaf with nothing of its branch below beforeSeq: an empty page, not an unknown leaf.
        const empty = await branch(sessionId, `?leafId=${last.reply.id}&beforeSeq=1`);
        expect(empty).toEqual({ items: [], nextBeforeSeq: null });
      });

      it('refuses an unknown or foreign parent (404) and malformed ids (400)', async () => {
        const sessionId = await newSession();
        const other = await newSession();
        const elsewhere = await exchange(other, 'in another session');
        const mallory = await target.token(`mallory-${randomUUID().slice(0, 8)}`);
        const hers = await newSession(mallory);
        const send = (body: unknown, session = sessionId) => api('POST', `/v1/sessions/${session}/messages`, body);
        for (const parentId of [randomUUID(), elsewhere.message.id, elsewhere.reply.id]) {
          const refused = await send({ content: 'x', parentId });
          expect(refused.status).toBe(404);
          expect(refused.body).toMatchObject({ code: 'parent_not_found', requestId: expect.any(String) });
        }
        for (const parentId of ['nope', 42, {}]) {
          const refused = await send({ content: 'x', parentId });
          expect(refused.status).toBe(400);
          expect(refused.body.code).toBe('validation_failed');
        }
        expect((await send({ content: 'x', parentId: elsewhere.reply.id }, hers)).status).toBe(403);
        expect((await api('GET', `/v1/sessions/${sessionId}/messages?leafId=${elsewhere.reply.id}`)).status).toBe(404);
        expect((await api('GET', `/v1/sessions/${sessionId}/messages?leafId=nope`)).status).toBe(400);
        expect((await branch(sessionId)).items).toEqual([]);
        // Nothing was stored by the refused sends.
        expect((await api('GET', `/v1/sessions/${sessionId}`)).body.messageCount).toBe(0);
      });

      it('an upper-case parent id is the same message', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'case one');
        const two = await exchange(sessionId, 'case two', { parentId: (one.reply.id as string).toUpperCase() });
        expect(two.message.parentId).toBe(one.reply.id);
      });
    });

    describe('regenerate', () => {
      it('adds a sibling reply to the same user message, whose prompt ends at that message', async () => {
        const sessionId = await newSession();
        const one = await exchange(sessionId, 'name a colour');
        const two = await exchange(sessionId, 'and a fruit');
        fake.reset();
        const regenerated = await api('POST', `/v1/sessions/${sessionId}/messages/${two.reply.id}/regenerate`);
        expect(regenerated.status, regenerated.text).toBe(202);
        expect(regenerated.body.reply).toMatchObject({
          role: 'assistant',
          status: 'pending',
          seq: 5,
          parentId: two.message.id,
          replyTo: two.message.id,
        });
        const done = await finished(sessionId, regenerated.body.reply.id as string);
        expect(done.status).toBe('complete');
        expect(fake.requests).toHaveLength(1);
        expect(fake.requests[0]?.body.messages).toEqual(two.prompt);
        const page = await branch(sessionId);
        expect(page.items.map((m) => m.id)).toEqual([one.message.id, one.reply.id, two.message.id, done.id]);
        expect(page.items[3]).toMatchObject({ siblingCount: 2, siblingIndex: 1 });
        const older = await branch(sessionId, `?leafId=${two.reply.id}`);
        expect(older.items[3]).toMatchObject({ id: two.reply.id, siblingCount: 2, siblingIndex: 0 });

        // Regenerating an earlier reply: its prompt still ends at its own user message.
        fake.reset();
        const first = await api('POST', `/v1/sessions/${sessionId}/messages/${one.reply.id}/regenerate`);
        expect(first.status).toBe(202);
        await finished(sessionId, first.body.reply.id as string);
        expect(fake.requests[0]?.body.messages).toEqual(one.prompt);
        // A plain send continues the newest message: the regenerated first reply.
        const next = await exchange(sessionId, 'and a vegetable');
        expect(next.message.parentId).toBe(first.body.reply.id);
        expect(next.prompt.map((m) => m.content)).not.toContain('and a fruit');
      });

      it('refuses an unfinished reply (409), anything but a reply (404), and counts as a pending reply', async () => {
        fake.tokenDelayMs = 50;
        const carol = await target.token(`carol-${randomUUID().slice(0, 8)}`);
        const sessionId = await newSession(carol);
        const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: longQuestion(30) }, carol);
        const busy = await api(
          'POST',
          `/v1/sessions/${sessionId}/messages/${sent.body.reply.id}/regenerate`,
          undefined,
          carol,
        );
        expect(busy.status).toBe(409);
        expect(busy.body).toMatchObject({ code: 'reply_not_finished', requestId: expect.any(String) });
        expect(
          (await api('POST', `/v1/sessions/${sessionId}/messages/${sent.body.message.id}/regenerate`, undefined, carol))
            .status,
        ).toBe(404);
        expect(
          (await api('POST', `/v1/sessions/${sessionId}/messages/${randomUUID()}/regenerate`, undefined, carol)).status,
        ).toBe(404);
        expect((await api('POST', `/v1/sessions/${sessionId}/messages/nope/regenerate`, undefined, carol)).status).toBe(
          400,
        );
        expect((await api('POST', `/v1/sessions/${sessionId}/messages/${sent.body.reply.id}/regenerate`)).status).toBe(
          403,
        );
        expect(
          (await api('POST', `/v1/sessions/${sessionId}/messages/${sent.body.reply.id}/stop`, undefined, carol)).status,
        ).toBe(200);

        // The stopped reply can be regenerated; three regenerations fill the pending replies cap (3).
        const regenerated: string[] = [];
        for (let i = 0; i < 3; i += 1) {
          const again = await api(
            'POST',
            `/v1/sessions/${sessionId}/messages/${sent.body.reply.id}/regenerate`,
            undefined,
            carol,
          );
          expect(again.status, again.text).toBe(202);
          regenerated.push(again.body.reply.id as string);
        }
        const refused = await api(
          'POST',
          `/v1/sessions/${sessionId}/messages/${sent.body.reply.id}/regenerate`,
          undefined,
          carol,
        );
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('too_many_pending_replies');
        expect(refused.headers.get('retry-after')).not.toBeNull();
        for (const id of regenerated) {
          await api('POST', `/v1/sessions/${sessionId}/messages/${id}/stop`, undefined, carol);
        }
      });
    });

    describe('burst coalescing', () => {
      it('sessions take replyMode on create and PATCH (default each)', async () => {
        const plain = await api('POST', '/v1/sessions', { title: 'plain' });
        expect(plain.body.replyMode).toBe('each');
        const created = await api('POST', '/v1/sessions', { replyMode: 'coalesce' });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ replyMode: 'coalesce', title: null });
        const patched = await api('PATCH', `/v1/sessions/${created.body.id as string}`, { replyMode: 'each' });
        expect(patched.status, patched.text).toBe(200);
        expect(patched.body).toMatchObject({ replyMode: 'each', title: null });
        const renamed = await api('PATCH', `/v1/sessions/${created.body.id as string}`, { title: 'named' });
        expect(renamed.body).toMatchObject({ replyMode: 'each', title: 'named' });
        expect((await api('GET', `/v1/sessions/${created.body.id as string}`)).body.replyMode).toBe('each');
        for (const body of [{ replyMode: 'bogus' }, {}]) {
          const refused = await api('PATCH', `/v1/sessions/${created.body.id as string}`, body);
          expect(refused.status, JSON.stringify(body)).toBe(400);
        }
        expect((await api('POST', '/v1/sessions', { replyMode: 'both' })).status).toBe(400);
      });

      it('coalesce: 5 messages sent at once get one model call whose prompt holds all 5; 4 replies are superseded', async () => {
        const sessionId = (await api('POST', '/v1/sessions', { replyMode: 'coalesce' })).body.id as string;
        const sse = await openSse(`${target.url}/v1/sessions/${sessionId}/events`, alice);
        const contents = [1, 2, 3, 4, 5].map((i) => `burst part ${i}`);
        const sent = await Promise.all(
          contents.map((content) => api('POST', `/v1/sessions/${sessionId}/messages`, { content })),
        );
        expect(sent.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
        const bySeq = sent.map((r) => r.body).sort((x, y) => x.message.seq - y.message.seq);
        const last = bySeq.at(-1);
        const answer = await finished(sessionId, last.reply.id as string);
        expect(answer.status).toBe('complete');
        for (const earlier of bySeq.slice(0, -1)) {
          expect((await api('GET', `/v1/sessions/${sessionId}/messages/${earlier.reply.id}`)).body.status).toBe(
            'superseded',
          );
        }
        await sse.waitFor((e) => e.event === 'reply.completed', 10_000, 'reply.completed');
        sse.close();
        expect(supersededReplyIds(sse.events)).toEqual(
          bySeq
            .slice(0, -1)
            .map((b) => b.reply.id)
            .sort(),
        );
        expect(fake.requests).toHaveLength(1);
        const users = fake.requests[0]?.body.messages.filter((m) => m.role === 'user').map((m) => m.content);
        expect(users).toEqual(bySeq.map((b) => b.message.content));
        expect([...(users ?? [])].sort()).toEqual([...contents].sort());
      });

      it('coalesce: a send that supersedes a pending reply is not refused for it when the pending replies cap (3) is full; a send that supersedes nothing is', async () => {
        const dave = await target.token(`dave-${randomUUID().slice(0, 8)}`);
        // Two replies of another session stay open: the model says nothing for them.
        fake.route = (body) =>
          body.messages.at(-1)?.content.startsWith('hold') === true ? { kind: 'stall', ms: 30_000 } : undefined;
        const busy = await newSession(dave);
        const held: string[] = [];
        for (const content of ['hold one', 'hold two']) {
          const sent = await api('POST', `/v1/sessions/${busy}/messages`, { content }, dave);
          expect(sent.status, sent.text).toBe(202);
          held.push(sent.body.reply.id as string);
        }
        const sessionId = (await api('POST', '/v1/sessions', { replyMode: 'coalesce' }, dave)).body.id as string;
        const first = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: 'burst one' }, dave);
        expect(first.status, first.text).toBe(202);
        // Three replies pending now; this send supersedes one of them, so it leaves three.
        const second = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: 'burst two' }, dave);
        expect(second.status, second.text).toBe(202);
        expect(
          (await api('GET', `/v1/sessions/${sessionId}/messages/${first.body.reply.id}`, undefined, dave)).body.status,
        ).toBe('superseded');
        const refused = await api('POST', `/v1/sessions/${busy}/messages`, { content: 'one more' }, dave);
        expect(refused.status, refused.text).toBe(429);
        expect(refused.body.code).toBe('too_many_pending_replies');

        const answer = await finished(sessionId, second.body.reply.id as string, dave);
        expect(answer.status).toBe('complete');
        const prompt = fake.requests.find((r) => r.body.messages.at(-1)?.content === 'burst two')?.body
          .messages as Prompt;
        expect(prompt.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['burst one', 'burst two']);
        // The queued one first: stopped the other way round, the worker would start it (a model call
        // landing in the next test) between the two stops.
        for (const id of [...held].reverse()) {
          expect((await api('POST', `/v1/sessions/${busy}/messages/${id}/stop`, undefined, dave)).status).toBe(200);
        }
      });

      it('each: the same 5 messages get 5 model calls', async () => {
        const sessionId = await newSession();
        const contents = [1, 2, 3, 4, 5].map((i) => `single part ${i}`);
        const sent: any[] = [];
        for (const [i, content] of contents.entries()) {
          if (i >= 3) {
            // At most MAX_PENDING_REPLIES (3) open at once.
            await finished(sessionId, sent[i - 3].body.reply.id as string);
          }
          sent.push(await api('POST', `/v1/sessions/${sessionId}/messages`, { content }));
        }
        for (const response of sent) {
          expect((await finished(sessionId, response.body.reply.id as string)).status).toBe('complete');
        }
        expect(fake.requests).toHaveLength(5);
        expect(fake.requests.map((r) => r.body.messages.at(-1)?.content)).toEqual(contents);
      });
    });

    describe('stop', () => {
      it('stops a streaming reply: its stored text is exactly what subscribers saw, and reply.stopped is its last event', async () => {
        fake.tokenDelayMs = 60;
        const sessionId = await newSession();
        const sse = await openSse(`${target.url}/v1/sessions/${sessionId}/events`, alice);
        const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: longQuestion() });
        const replyId = sent.body.reply.id as string;
        await eventually(
          async () =>
            sse.events.filter((e) => e.event === 'reply.delta' && e.data.messageId === replyId).length >= 3
              ? true
              : undefined,
          20_000,
          'three deltas',
        );
        const stopped = await api('POST', `/v1/sessions/${sessionId}/messages/${replyId}/stop`);
        expect(stopped.status, stopped.text).toBe(200);
        expect(stopped.body).toMatchObject({ id: replyId, status: 'stopped', parentId: sent.body.message.id });
        const event = await sse.waitFor(
          (e) => e.event === 'reply.stopped' && e.data.message.id === replyId,
          10_000,
          'reply.stopped',
        );
        // Long enough for the model's next tokens to have arrived, had it not been aborted.
        await new Promise((resolve) => setTimeout(resolve, 600));
        sse.close();
        const ofReply = sse.events.filter((e) => e.data?.messageId === replyId || e.data?.message?.id === replyId);
        expect(ofReply.at(-1)?.event).toBe('reply.stopped');
        expect(ofReply.filter((e) => e.event === 'reply.completed' || e.event === 'reply.failed')).toEqual([]);
        const seen = seenText(sse, replyId);
        expect(seen.length).toBeGreaterThan(0);
        expect(stopped.body.content).toBe(seen);
        expect(event.data.message.content).toBe(seen);
        expect(fake.closedByClient).toBe(1);
        const stored = await api('GET', `/v1/sessions/${sessionId}/messages/${replyId}`);
        expect(stored.body).toMatchObject({ status: 'stopped', content: seen });
        expect(seen.length).toBeLessThan(longQuestion().length);
      });

      it('stops a queued reply without ever calling the model for it', async () => {
        fake.tokenDelayMs = 40;
        const sessionId = await newSession();
        const first = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: longQuestion(40, 'first') });
        const queued = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: 'queued behind the first' });
        expect(queued.body.reply.status).toBe('pending');
        const stopped = await api('POST', `/v1/sessions/${sessionId}/messages/${queued.body.reply.id}/stop`);
        expect(stopped.status, stopped.text).toBe(200);
        expect(stopped.body).toMatchObject({ status: 'stopped', content: '' });
        expect((await finished(sessionId, first.body.reply.id)).status).toBe('complete');
        // The session's next reply is generated, so the queue has moved past the stopped one.
        const after = await exchange(sessionId, 'after the stopped one');
        expect(after.reply.status).toBe('complete');
        expect(fake.requests.map((r) => r.body.messages.at(-1)?.content)).toEqual([
          longQuestion(40, 'first'),
          'after the stopped one',
        ]);
        expect((await api('GET', `/v1/sessions/${sessionId}/messages/${queued.body.reply.id}`)).body.status).toBe(
          'stopped',
        );
      });

      it('answers 409 reply_finished for a finished or already stopped reply, 404 for anything but a reply', async () => {
        const sessionId = await newSession();
        const done = await exchange(sessionId, 'quick one');
        const finishedStop = await api('POST', `/v1/sessions/${sessionId}/messages/${done.reply.id}/stop`);
        expect(finishedStop.status).toBe(409);
        expect(finishedStop.body).toMatchObject({ code: 'reply_finished', requestId: expect.any(String) });
        expect((await api('GET', `/v1/sessions/${sessionId}/messages/${done.reply.id}`)).body).toMatchObject({
          status: 'complete',
          content: done.reply.content,
        });

        fake.tokenDelayMs = 50;
        const slow = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: longQuestion(30) });
        expect((await api('POST', `/v1/sessions/${sessionId}/messages/${slow.body.reply.id}/stop`)).status).toBe(200);
        const again = await api('POST', `/v1/sessions/${sessionId}/messages/${slow.body.reply.id}/stop`);
        expect(again.status).toBe(409);
        expect(again.body.code).toBe('reply_finished');

        expect((await api('POST', `/v1/sessions/${sessionId}/messages/${done.message.id}/stop`)).body.code).toBe(
          'reply_not_found',
        );
        expect((await api('POST', `/v1/sessions/${sessionId}/messages/${randomUUID()}/stop`)).status).toBe(404);
        expect((await api('POST', `/v1/sessions/${sessionId}/messages/nope/stop`)).status).toBe(400);
        const other = await newSession();
        expect((await api('POST', `/v1/sessions/${other}/messages/${slow.body.reply.id}/stop`)).status).toBe(404);
        const mallory = await target.token(`mallory-${randomUUID().slice(0, 8)}`);
        expect(
          (await api('POST', `/v1/sessions/${sessionId}/messages/${slow.body.reply.id}/stop`, undefined, mallory))
            .status,
        ).toBe(403);
      });

      it('a stopped reply no longer counts against the pending replies limit', async () => {
        fake.tokenDelayMs = 50;
        const bob = await target.token(`bob-${randomUUID().slice(0, 8)}`);
        const sessions = [await newSession(bob), await newSession(bob), await newSession(bob), await newSession(bob)];
        const replies: string[] = [];
        for (const sessionId of sessions.slice(0, 3)) {
          const sent = await api('POST', `/v1/sessions/${sessionId}/messages`, { content: longQuestion(40) }, bob);
          expect(sent.status).toBe(202);
          replies.push(sent.body.reply.id as string);
        }
        const refused = await api('POST', `/v1/sessions/${sessions[3]}/messages`, { content: 'a fourth' }, bob);
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('too_many_pending_replies');
        expect(
          (await api('POST', `/v1/sessions/${sessions[0]}/messages/${replies[0]}/stop`, undefined, bob)).status,
        ).toBe(200);
        const accepted = await api('POST', `/v1/sessions/${sessions[3]}/messages`, { content: 'a fourth' }, bob);
        expect(accepted.status, accepted.text).toBe(202);
        for (const [i, sessionId] of sessions.slice(1).entries()) {
          const id = i < 2 ? replies[i + 1] : accepted.body.reply.id;
          await api('POST', `/v1/sessions/${sessionId}/messages/${id}/stop`, undefined, bob);
        }
      });
    });
  });
}
