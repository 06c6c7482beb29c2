import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';

export interface ExtractionTarget {
  /** One or more app processes sharing one database: writes go to the first, reads to the last. */
  urls: string[];
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** Memory extraction with the local provider's rules, written once and run in every mode. */
export function defineLocalExtractionSuite(mode: string, start: () => Promise<ExtractionTarget>): void {
  describe(`memories extracted by the local provider (${mode})`, () => {
    let target: ExtractionTarget;
    const writer = (): string => target.urls[0] as string;
    const reader = (): string => target.urls[target.urls.length - 1] as string;

    beforeAll(async () => {
      target = await start();
    });

    afterAll(async () => {
      await target?.close();
    });

    async function say(token: string, sessionId: string, content: string): Promise<string> {
      const sent = await http('POST', `${writer()}/v1/sessions/${sessionId}/messages`, { token, body: { content } });
      expect(sent.status, sent.text).toBe(202);
      return sent.body.message.id as string;
    }

    async function memoriesOf(token: string): Promise<any[]> {
      const listed = await http('GET', `${reader()}/v1/memories?limit=100`, { token });
      expect(listed.status, listed.text).toBe(200);
      return listed.body.items;
    }

    const until = (token: string, expected: string[]): Promise<any[]> =>
      eventually(
        async () => {
          const items = await memoriesOf(token);
          const contents = items.map((m) => m.content as string).sort();
          return JSON.stringify(contents) === JSON.stringify([...expected].sort()) ? items : undefined;
        },
        30_000,
        `memories ${expected.join(', ')}`,
      );

    it('remembers names, places, likes and requests to remember, with where they came from', async () => {
      const token = await target.token(`local-${randomUUID().slice(0, 8)}`);
      const session = await http('POST', `${writer()}/v1/sessions`, { token, body: {} });
      const sessionId = session.body.id as string;
      const first = await say(
        token,
        sessionId,
        'Hi, my name is Ana and I live in Quito. I like green tea. Remember that my cat is called Miso.',
      );
      const items = await until(token, [
        'My name is Ana',
        'I live in Quito',
        'I like green tea',
        'My cat is called Miso',
      ]);
      for (const memory of items) {
        expect(memory).toMatchObject({ source: 'extracted', sessionId, messageId: first });
      }

      // The same fact again is not stored twice; a newer place replaces the older extracted one.
      await say(token, sessionId, 'As I said, I like green tea. And news: I live in Porto.');
      await until(token, ['My name is Ana', 'I live in Porto', 'I like green tea', 'My cat is called Miso']);

      // Turned off: nothing more is drawn, what is kept stays; forgetting everything still works.
      expect((await http('PATCH', `${writer()}/v1/me`, { token, body: { memoryExtraction: false } })).status).toBe(200);
      const silent = await say(token, sessionId, 'I like opera.');
      await eventually(
        async () => {
          const reply = await http('GET', `${reader()}/v1/sessions/${sessionId}/messages?limit=100`, { token });
          return reply.body.items.every((m: any) => m.status === 'complete') ? true : undefined;
        },
        30_000,
        'the last reply',
      );
      expect(silent).toBeDefined();
      expect((await memoriesOf(token)).map((m) => m.content)).not.toContain('I like opera');
      expect((await http('DELETE', `${writer()}/v1/memories`, { token })).status).toBe(204);
      expect(await memoriesOf(token)).toEqual([]);
    });
  });
}
