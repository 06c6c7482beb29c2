import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXTRACTION_SYSTEM_PROMPT } from '../../src/memory/extraction/fact-extractor.js';
import type { FakeBehaviour, RecordedRequest } from '../support/fake-openai.js';
import { newSession as createSession } from '../support/api.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const FACT = /fact\((\w*)\):([^;]+);/g;

/**
 * The fake model as an extractor: facts are spelled out in the message as `fact(topic):text;`, so
 * each test says what the model finds. MALFORMED gets prose instead of JSON; EXPLODE a 500;
 * REFUSEnnn the status nnn.
 */
function extractionAnswer(body: RecordedRequest['body']): FakeBehaviour | undefined {
  if (body.messages[0]?.content !== EXTRACTION_SYSTEM_PROMPT) {
    return undefined;
  }
  const message = body.messages.at(-1)?.content ?? '';
  if (message.includes('MALFORMED')) {
    return { kind: 'text', text: 'Sure! The user likes chess.' };
  }
  if (message.includes('EXPLODE')) {
    return { kind: 'status', status: 500 };
  }
  const refused = /REFUSE(\d{3})/.exec(message);
  if (refused !== null) {
    return { kind: 'status', status: Number(refused[1]) };
  }
  const facts = [...message.matchAll(FACT)].map(([, topic, text]) => ({ text, topic: topic === '' ? null : topic }));
  return { kind: 'text', text: JSON.stringify({ facts }) };
}

const isExtraction = (r: RecordedRequest): boolean => r.body.messages[0]?.content === EXTRACTION_SYSTEM_PROMPT;

describe('memories extracted from conversations (production: 2 processes, the fake OpenAI model)', () => {
  const fx = withCluster(
    2,
    { LLM_API_KEY: 'sk-test', LLM_MODEL: 'fake-model', MAX_PENDING_REPLIES: '20' },
    { fakeOpenAi: { route: extractionAnswer } },
  );
  const newSession = (token: string): Promise<string> => createSession(fx.cluster.url(0), { token });

  /** Sends and waits for the reply: returns the user message's id. */
  async function say(token: string, sessionId: string, content: string, via = 0): Promise<string> {
    const sent = await http('POST', `${fx.cluster.url(via)}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content },
    });
    expect(sent.status, sent.text).toBe(202);
    await eventually(
      async () => {
        const reply = await http(
          'GET',
          `${fx.cluster.url(via + 1)}/v1/sessions/${sessionId}/messages/${sent.body.reply.id as string}`,
          { token },
        );
        return reply.body?.status === 'complete' ? true : undefined;
      },
      30_000,
      'the reply',
    );
    return sent.body.message.id as string;
  }

  async function memories(token: string): Promise<any[]> {
    const listed = await http('GET', `${fx.cluster.url(1)}/v1/memories?limit=100`, { token });
    expect(listed.status, listed.text).toBe(200);
    return listed.body.items;
  }

  /** The sum of a counter over both processes. */
  async function counter(name: string, label: string): Promise<number> {
    let sum = 0;
    for (const app of fx.cluster.apps) {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
      sum += line === undefined ? 0 : Number(line.split(' ').at(-1));
    }
    return sum;
  }

  const extractedOf = (messageId: string): Promise<number> =>
    fx.db
      .query<{ n: number }>('SELECT count(*)::int AS n FROM memory_extractions WHERE message_id = $1', [messageId])
      .then((r) => r[0]?.n ?? 0);

  it('stores facts with provenance, once each, and a newer fact on a topic replaces the older extracted one', async () => {
    const userId = uniqueName('ana');
    const token = await tokenFor(userId);
    const sessionId = await newSession(token);
    const quito = await say(token, sessionId, 'Hello! fact(location):I live in Quito; fact():I like tea;');
    const found = await eventually(
      async () => {
        const items = await memories(token);
        return items.length === 2 ? items : undefined;
      },
      20_000,
      'two extracted memories',
    );
    for (const memory of found) {
      expect(memory).toMatchObject({ source: 'extracted', sessionId, messageId: quito });
    }
    expect(found.map((m) => m.content).sort()).toEqual(['I like tea', 'I live in Quito']);

    // Typed memories are never changed by extraction.
    expect(
      (await http('POST', `${fx.cluster.url(0)}/v1/memories`, { token, body: { content: 'I live in Lima' } })).status,
    ).toBe(201);
    const porto = await say(token, sessionId, 'Moving news. fact(location):I live in Porto; fact():I like TEA!;', 1);
    await eventually(
      async () => ((await extractedOf(porto)) === 1 ? true : undefined),
      20_000,
      'the second extraction',
    );
    const after = await memories(token);
    expect(after.map((m) => `${m.source}:${m.content}`).sort()).toEqual([
      'extracted:I like tea',
      'extracted:I live in Porto',
      'user:I live in Lima',
    ]);
    expect(after.find((m) => m.content === 'I live in Porto')).toMatchObject({ messageId: porto, sessionId });
  });

  it('stores nothing from a malformed answer or a failing model, and counts both', async () => {
    const token = await tokenFor(uniqueName('bea'));
    const sessionId = await newSession(token);
    const malformedBefore = await counter('parley_memory_extractions_total', 'outcome="malformed"');
    const errorsBefore = await counter('parley_memory_extractions_total', 'outcome="error"');
    const malformed = await say(token, sessionId, 'MALFORMED fact():I like chess;');
    await eventually(
      async () =>
        (await counter('parley_memory_extractions_total', 'outcome="malformed"')) > malformedBefore ? true : undefined,
      20_000,
      'a malformed extraction',
    );
    // Recorded as extracted with nothing stored: the reconciler does not ask the model again.
    expect(await extractedOf(malformed)).toBe(1);
    await say(token, sessionId, 'EXPLODE fact():I like golf;');
    await eventually(
      async () =>
        (await counter('parley_memory_extractions_total', 'outcome="error"')) > errorsBefore ? true : undefined,
      20_000,
      'a failed extraction',
    );
    expect(await memories(token)).toEqual([]);
  });

  it('asks the model once about a message it refuses for its content, and again about one refused for the key', async () => {
    const token = await tokenFor(uniqueName('cid'));
    const sessionId = await newSession(token);
    const refusedBefore = await counter('parley_memory_extractions_total', 'outcome="refused"');
    const errorsBefore = await counter('parley_memory_extractions_total', 'outcome="error"');
    const asked = (marker: string): number =>
      fx.fake.extractionRequests.filter((r) => r.body.messages.at(-1)?.content.includes(marker)).length;
    const tag = uniqueName('m');
    const markers = ['REFUSE400', 'REFUSE413', 'REFUSE422'].map((status) => `${status} ${tag}`);
    const refused = await Promise.all(
      markers.map((marker, i) => say(token, sessionId, `${marker} fact():I like jazz;`, i)),
    );
    const keyless = await say(token, sessionId, `REFUSE401 ${tag} fact():I like rock;`);
    await eventually(
      async () =>
        (await counter('parley_memory_extractions_total', 'outcome="refused"')) >= refusedBefore + 3 ? true : undefined,
      20_000,
      'three refused extractions',
    );
    // Past the queue's second and third attempts (1 s and 3 s of back-off): each refused message
    // was asked about once and is recorded as extracted, so neither the queue nor the reconciler
    // asks again; the deployment's refusal (a key the provider does not accept) is retried.
    await eventually(async () => (asked(`REFUSE401 ${tag}`) >= 3 ? true : undefined), 20_000, 'the retried extraction');
    for (const [i, messageId] of refused.entries()) {
      expect(asked(markers[i] as string), markers[i]).toBe(1);
      expect(await extractedOf(messageId)).toBe(1);
    }
    expect(await extractedOf(keyless)).toBe(0);
    expect(await counter('parley_memory_extractions_total', 'outcome="refused"')).toBe(refusedBefore + 3);
    expect(await counter('parley_memory_extractions_total', 'outcome="error"')).toBeGreaterThanOrEqual(
      errorsBefore + 3,
    );
    expect(await memories(token)).toEqual([]);
  });

  it('extracts nothing for a user who turned it off', async () => {
    const token = await tokenFor(uniqueName('cai'));
    expect(
      (await http('PATCH', `${fx.cluster.url(0)}/v1/me`, { token, body: { memoryExtraction: false } })).status,
    ).toBe(200);
    const before = await counter('parley_memory_extractions_total', 'outcome="disabled"');
    const sessionId = await newSession(token);
    await say(token, sessionId, 'fact():I like opera;', 1);
    await eventually(
      async () =>
        (await counter('parley_memory_extractions_total', 'outcome="disabled"')) > before ? true : undefined,
      20_000,
      'a disabled extraction',
    );
    expect(await memories(token)).toEqual([]);
  });

  it('extracts each of 40 user messages of 10 users once over 2 workers; no fact crosses users', async () => {
    const users = await Promise.all(
      Array.from({ length: 10 }, async (_, u) => {
        const id = uniqueName(`speaker${u}`);
        return {
          id,
          token: await tokenFor(id),
          canaries: Array.from({ length: 4 }, () => `canary${randomBytes(5).toString('hex')}`),
        };
      }),
    );
    const sessions = await Promise.all(
      users.map(async (user) => Promise.all(user.canaries.map(() => newSession(user.token)))),
    );
    let request = 0;
    const sends = await Promise.all(
      users.flatMap((user, u) =>
        user.canaries.map((canary, i) =>
          http('POST', `${fx.cluster.url(request++)}/v1/sessions/${sessions[u]?.[i] as string}/messages`, {
            token: user.token,
            body: { content: `Note this. fact():My secret word is ${canary};` },
          }),
        ),
      ),
    );
    expect(sends.map((s) => s.status)).toEqual(Array.from({ length: 40 }, () => 202));
    const messageIds = sends.map((s) => s.body.message.id as string);

    await eventually(
      async () => {
        const rows = await fx.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM memory_extractions WHERE message_id = ANY($1::uuid[])',
          [messageIds],
        );
        return rows[0]?.n === 40 ? true : undefined;
      },
      60_000,
      'all 40 extractions',
    );

    for (const user of users) {
      const own = await memories(user.token);
      expect(own.map((m) => m.content).sort()).toEqual(user.canaries.map((c) => `My secret word is ${c}`).sort());
      for (const other of users) {
        if (other !== user) {
          for (const canary of other.canaries) {
            expect(JSON.stringify(own)).not.toContain(canary);
          }
        }
      }
    }
    // Every memory belongs to the speaker of the message it came from, and was asked for once.
    const crossed = await fx.db.query(
      `SELECT mem.id FROM memories mem JOIN messages msg ON msg.id = mem.message_id WHERE msg.owner_id <> mem.owner_id OR msg.role <> 'user'`,
    );
    expect(crossed).toEqual([]);
    for (const user of users) {
      for (const canary of user.canaries) {
        const asked = fx.fake.extractionRequests.filter(
          (r) => isExtraction(r) && r.body.messages.at(-1)?.content.includes(canary),
        );
        expect(asked).toHaveLength(1);
      }
    }
  });

  it('counts extractions by outcome, facts by result and prompt tokens by part', async () => {
    for (const outcome of ['stored', 'malformed', 'error', 'disabled']) {
      expect(await counter('parley_memory_extractions_total', `outcome="${outcome}"`), outcome).toBeGreaterThan(0);
    }
    for (const result of ['stored', 'deduplicated', 'replaced']) {
      expect(await counter('parley_memories_extracted_total', `result="${result}"`), result).toBeGreaterThan(0);
    }
    for (const part of ['system', 'memories', 'recent']) {
      expect(await counter('parley_prompt_tokens_sum', `part="${part}"`), part).toBeGreaterThan(0);
    }
  });
});
