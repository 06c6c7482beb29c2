import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTRACTION_SYSTEM_PROMPT } from '../../src/memory/extraction/fact-extractor.js';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { FakeOpenAi, type FakeBehaviour, type RecordedRequest } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { fakeLlmEnv } from './instructions.suite.js';

const MESSAGES_PER_USER = 3;
const FACT = /fact\(\):([^;]+);/g;

/** The fake model as an extractor: each `fact():text;` in the message is a fact it finds. */
function extractionAnswer(body: RecordedRequest['body']): FakeBehaviour | undefined {
  if (body.messages[0]?.content !== EXTRACTION_SYSTEM_PROMPT) {
    return undefined;
  }
  const message = body.messages.at(-1)?.content ?? '';
  const facts = [...message.matchAll(FACT)].map(([, text]) => ({ text, topic: null }));
  return { kind: 'text', text: JSON.stringify({ facts }) };
}

/** While the first process is alive, every extraction hangs in the model: none can finish. */
function stalledExtraction(body: RecordedRequest['body']): FakeBehaviour | undefined {
  return body.messages[0]?.content === EXTRACTION_SYSTEM_PROMPT ? { kind: 'stall', ms: 120_000 } : undefined;
}

interface User {
  name: string;
  token: string;
  sessionId: string;
  messageIds: string[];
  facts: string[];
}

/**
 * F9 for memory extraction: replies complete, their extraction jobs are queued or running, then
 * the process is SIGKILLed and Redis is flushed. Nothing but the reconciler of the processes
 * started afterwards can bring the extractions back: each message is extracted exactly once, into
 * its own owner's memories, and never for a user who turned extraction off.
 */
describe('memory extractions lost with Redis and a killed process', () => {
  let fake: FakeOpenAi;
  let db: TestDatabase;
  let redis: PrivateRedis;
  let env: Record<string, string>;
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    env = productionEnv(db, uniqueName('t'), {
      ...fakeLlmEnv(fake),
      REDIS_URL: redis.url,
      RECONCILE_INTERVAL_MS: '300',
      MAX_PENDING_REPLIES: '100',
    });
  });

  afterAll(async () => {
    await stopAll(apps);
    await redis?.stop();
    await db?.drop();
    await fake?.stop();
  });

  it('extracts every lost message exactly once, for its own owner only, and skips users who opted out', async () => {
    fake.route = stalledExtraction;
    const first = await startApp({ env });
    apps = [first];

    const newUser = async (name: string): Promise<User> => {
      const owner = uniqueName(name);
      const token = await tokenFor(owner);
      const session = await http('POST', `${first.url}/v1/sessions`, { token, body: {} });
      expect(session.status, session.text).toBe(201);
      return { name, token, sessionId: session.body.id as string, messageIds: [], facts: [] };
    };
    const [ana, ben, cay] = await Promise.all([newUser('ana'), newUser('ben'), newUser('cay')]);
    const users = [ana, ben, cay];
    const optedOut = cay;
    const patched = await http('PATCH', `${first.url}/v1/me`, {
      token: optedOut.token,
      body: { memoryExtraction: false },
    });
    expect(patched.status, patched.text).toBe(200);

    // Every user sends concurrently; each reply completes.
    await Promise.all(
      users.map(async (user) => {
        for (let n = 0; n < MESSAGES_PER_USER; n += 1) {
          const fact = `${user.name} owns item ${n}`;
          const sent = await http('POST', `${first.url}/v1/sessions/${user.sessionId}/messages`, {
            token: user.token,
            body: { content: `Note this. fact():${fact};` },
          });
          expect(sent.status, sent.text).toBe(202);
          await eventually(
            async () => {
              const reply = await http(
                'GET',
                `${first.url}/v1/sessions/${user.sessionId}/messages/${sent.body.reply.id as string}`,
                { token: user.token },
              );
              return reply.body?.status === 'complete' ? true : undefined;
            },
            30_000,
            'the reply',
          );
          user.messageIds.push(sent.body.message.id as string);
          user.facts.push(fact);
        }
      }),
    );
    const extracted = async (): Promise<Array<{ message_id: string; owner_id: string }>> =>
      db.query('SELECT message_id, owner_id FROM memory_extractions');

    // The extraction jobs exist and are being worked on (held by the model) when the process dies.
    await eventually(
      async () => (fake.extractionRequests.length > 0 ? true : undefined),
      20_000,
      'an extraction in the model',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    expect(await extracted()).toEqual([]);

    fake.route = extractionAnswer;
    const askedBefore = fake.extractionRequests.length;
    apps = await Promise.all([startApp({ env }), startApp({ env })]);

    const enabled = users.filter((user) => user !== optedOut);
    const expectedIds = enabled.flatMap((user) => user.messageIds).sort();
    await eventually(
      async () => ((await extracted()).length >= expectedIds.length ? true : undefined),
      40_000,
      'every lost extraction',
    );
    // Several more reconciler passes of both processes: nothing is extracted twice or added.
    await sleep(2000);

    const rows = await extracted();
    expect(rows.map((row) => row.message_id).sort()).toEqual(expectedIds);
    const asked = fake.extractionRequests
      .slice(askedBefore)
      .map((request) => request.body.messages.at(-1)?.content ?? '');
    for (const user of users) {
      for (const fact of user.facts) {
        // Asked of the model once per message; never for a user who turned extraction off.
        expect(
          asked.filter((content) => content.includes(fact)),
          fact,
        ).toHaveLength(user === optedOut ? 0 : 1);
      }
    }

    for (const user of users) {
      const listed = await http('GET', `${apps[0]?.url as string}/v1/memories?limit=100`, { token: user.token });
      expect(listed.status, listed.text).toBe(200);
      const items = listed.body.items as Array<{
        content: string;
        source: string;
        sessionId: string;
        messageId: string;
      }>;
      if (user === optedOut) {
        expect(items).toEqual([]);
        continue;
      }
      // Exactly this user's facts, each once, each from this user's own message.
      expect(items.map((m) => m.content).sort()).toEqual([...user.facts].sort());
      for (const memory of items) {
        expect(memory.source).toBe('extracted');
        expect(memory.sessionId).toBe(user.sessionId);
        expect(memory.messageId).toBe(user.messageIds[user.facts.indexOf(memory.content)]);
      }
    }
    expect(apps.map((app) => app.child.exitCode)).toEqual([null, null]);
  }, 150_000);
});
