import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { openSse, type SseClient } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { fakeProviderEnv, longQuestion, seenText } from './conversation.suite.js';

/** Past the queue's job lock and a reconciler run: whatever could still finish a reply has had its chance. */
const SETTLE_MS = 3500;
const TIMING = {
  REPLY_JOB_LOCK_MS: '2000',
  REPLY_LOCK_TTL_MS: '2000',
  RECONCILE_INTERVAL_MS: '1000',
  MAX_PENDING_REPLIES: '100',
};

interface Deployment {
  db: TestDatabase;
  env: Record<string, string>;
  apis: AppProcess[];
  workers: AppProcess[];
}

async function deploy(extra: Record<string, string>): Promise<Deployment> {
  const db = await createTestDatabase();
  const env = productionEnv(db, uniqueName('stop'), { ...TIMING, ...extra });
  const started = await Promise.all([
    ...[0, 1].map(() => startApp({ env: { ...env, APP_ROLE: 'api' } })),
    ...[0, 1].map(() => startApp({ env: { ...env, APP_ROLE: 'worker' } })),
  ]);
  return { db, env, apis: started.slice(0, 2), workers: started.slice(2) };
}

async function undeploy(deployment: Deployment | undefined): Promise<void> {
  if (deployment) {
    await stopAll([...deployment.apis, ...deployment.workers]);
    await deployment.db.drop();
  }
}

const eventsOf = (sse: SseClient, replyId: string) =>
  sse.events.filter((e) => e.data?.messageId === replyId || e.data?.message?.id === replyId);

/**
 * Sends through api A with an SSE client on api A, stops through api B once a few deltas went out,
 * and checks what every party saw against what was stored, then again once nothing could change it.
 */
async function stopMidStream(deployment: Deployment, question: string): Promise<{ replyId: string; content: string }> {
  const [a, b] = deployment.apis as [AppProcess, AppProcess];
  const token = await tokenFor(uniqueName('alice'));
  const sessionId = (await http('POST', `${a.url}/v1/sessions`, { token, body: {} })).body.id as string;
  const sse = await openSse(`${a.url}/v1/sessions/${sessionId}/events`, token);
  const sent = await http('POST', `${a.url}/v1/sessions/${sessionId}/messages`, { token, body: { content: question } });
  expect(sent.status).toBe(202);
  const replyId = sent.body.reply.id as string;
  await eventually(
    async () => (eventsOf(sse, replyId).filter((e) => e.event === 'reply.delta').length >= 3 ? true : undefined),
    20_000,
    'deltas',
  );
  const stopped = await http('POST', `${b.url}/v1/sessions/${sessionId}/messages/${replyId}/stop`, { token });
  expect(stopped.status, stopped.text).toBe(200);
  await sse.waitFor(
    (e) => e.event === 'reply.stopped' && e.data.message.id === replyId,
    10_000,
    'reply.stopped on api A',
  );
  await sleep(SETTLE_MS);
  sse.close();
  const seen = eventsOf(sse, replyId);
  expect(seen.at(-1)?.event).toBe('reply.stopped');
  expect(seen.filter((e) => e.event === 'reply.stopped')).toHaveLength(1);
  expect(seen.some((e) => e.event === 'reply.completed' || e.event === 'reply.failed')).toBe(false);
  const text = seenText(sse, replyId);
  expect(text.length).toBeGreaterThan(0);
  expect(stopped.body).toMatchObject({ status: 'stopped', content: text });
  const [row] = await deployment.db.query<{ status: string; content: string }>(
    'SELECT status, content FROM messages WHERE id = $1',
    [replyId],
  );
  expect(row).toEqual({ status: 'stopped', content: text });
  return { replyId, content: text };
}

describe('stop across 2 api + 2 worker processes (OpenAI-compatible provider)', () => {
  let fake: FakeOpenAi;
  let deployment: Deployment | undefined;

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
    deployment = await deploy({ ...fakeProviderEnv(fake), LLM_TIMEOUT_MS: '20000' });
  });

  afterAll(async () => {
    await undeploy(deployment);
    await fake?.stop();
  });

  it('stop through api B while a worker streams: api A’s subscriber sees deltas then reply.stopped, the text stored is theirs, the model call is closed and nothing completes later', async () => {
    fake.reset();
    fake.tokenDelayMs = 80;
    await stopMidStream(deployment as Deployment, longQuestion(60));
    expect(fake.closedByClient).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('stop of a queued reply: the model is never called for it', async () => {
    fake.reset();
    fake.tokenDelayMs = 40;
    const [a, b] = (deployment as Deployment).apis as [AppProcess, AppProcess];
    const token = await tokenFor(uniqueName('carol'));
    const sessionId = (await http('POST', `${a.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const first = await http('POST', `${a.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: longQuestion(30, 'first') },
    });
    const queued = await http('POST', `${b.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'never asked' },
    });
    const stopped = await http('POST', `${b.url}/v1/sessions/${sessionId}/messages/${queued.body.reply.id}/stop`, {
      token,
    });
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.body).toMatchObject({ status: 'stopped', content: '' });
    await eventually(
      async () => {
        const reply = await http('GET', `${a.url}/v1/sessions/${sessionId}/messages/${first.body.reply.id}`, { token });
        return reply.body.status === 'complete' ? true : undefined;
      },
      20_000,
      'the first reply',
    );
    await sleep(SETTLE_MS);
    expect(fake.requests.map((r) => r.body.messages.at(-1)?.content)).toEqual([longQuestion(30, 'first')]);
    const [row] = await (deployment as Deployment).db.query<{ status: string; attempt: number }>(
      'SELECT status, attempt FROM messages WHERE id = $1',
      [queued.body.reply.id],
    );
    expect(row).toEqual({ status: 'stopped', attempt: 0 });
  });

  it('stop racing completion (200 runs): each reply ends in exactly one terminal status, the one the stop’s answer says', async () => {
    fake.reset();
    fake.tokenDelayMs = 0;
    const { apis, db } = deployment as Deployment;
    const SESSIONS = 10;
    const RUNS = 20;
    const outcomes: Array<{ replyId: string; answer: number; content?: string }> = [];
    const streams: SseClient[] = [];
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const token = await tokenFor(uniqueName(`racer${s}`));
        const sessionId = (await http('POST', `${apis[0]?.url}/v1/sessions`, { token, body: {} })).body.id as string;
        const sse = await openSse(`${apis[s % 2]?.url}/v1/sessions/${sessionId}/events`, token);
        streams.push(sse);
        for (let run = 0; run < RUNS; run += 1) {
          const sent = await http('POST', `${apis[run % 2]?.url}/v1/sessions/${sessionId}/messages`, {
            token,
            body: { content: `race ${s} ${run} a b c` },
          });
          const replyId = sent.body.reply.id as string;
          // Stops land from before the first token to after the last one.
          await sleep((run * 7 + s * 3) % 60);
          const stop = await http(
            'POST',
            `${apis[(run + 1) % 2]?.url}/v1/sessions/${sessionId}/messages/${replyId}/stop`,
            { token },
          );
          expect([200, 409], stop.text).toContain(stop.status);
          if (stop.status === 409) {
            expect(stop.body.code).toBe('reply_finished');
          }
          outcomes.push({ replyId, answer: stop.status, content: stop.body.content as string | undefined });
          await eventually(
            async () => {
              const [row] = await db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [replyId]);
              return row?.status === 'complete' || row?.status === 'stopped' ? true : undefined;
            },
            20_000,
            `reply ${replyId} finished`,
          );
        }
      }),
    );
    await sleep(SETTLE_MS);
    for (const sse of streams) {
      sse.close();
    }
    expect(outcomes).toHaveLength(SESSIONS * RUNS);
    const rows = await db.query<{ id: string; status: string; content: string }>(
      'SELECT id, status, content FROM messages WHERE id = ANY($1)',
      [outcomes.map((o) => o.replyId)],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const events = streams.flatMap((sse) => sse.events);
    for (const outcome of outcomes) {
      const row = byId.get(outcome.replyId);
      const terminal = events.filter(
        (e) =>
          (e.event === 'reply.completed' || e.event === 'reply.stopped' || e.event === 'reply.failed') &&
          (e.data.message?.id ?? e.data.messageId) === outcome.replyId,
      );
      if (outcome.answer === 200) {
        expect(row).toMatchObject({ status: 'stopped', content: outcome.content });
        expect(terminal.map((e) => e.event)).toEqual(['reply.stopped']);
      } else {
        expect(row?.status).toBe('complete');
        expect(terminal.map((e) => e.event)).toEqual(['reply.completed']);
      }
    }
    const stopped = outcomes.filter((o) => o.answer === 200).length;
    console.info(`stop race: ${stopped} stopped, ${outcomes.length - stopped} completed first`);
  });

  it('a worker SIGKILLed after a stop was accepted: the reply stays stopped', async () => {
    fake.reset();
    fake.tokenDelayMs = 80;
    const d = deployment as Deployment;
    const [a, b] = d.apis as [AppProcess, AppProcess];
    const token = await tokenFor(uniqueName('dave'));
    const sessionId = (await http('POST', `${a.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const sse = await openSse(`${a.url}/v1/sessions/${sessionId}/events`, token);
    const sent = await http('POST', `${a.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: longQuestion(60) },
    });
    const replyId = sent.body.reply.id as string;
    await eventually(
      async () => (eventsOf(sse, replyId).some((e) => e.event === 'reply.delta') ? true : undefined),
      20_000,
      'a delta',
    );
    const stopped = await http('POST', `${b.url}/v1/sessions/${sessionId}/messages/${replyId}/stop`, { token });
    expect(stopped.status).toBe(200);
    for (const worker of d.workers) {
      worker.child.kill('SIGKILL');
    }
    await Promise.all(d.workers.map((worker) => worker.exited));
    d.workers = await Promise.all([0, 1].map(() => startApp({ env: { ...d.env, APP_ROLE: 'worker' } })));
    await sleep(SETTLE_MS);
    const [row] = await d.db.query<{ status: string; content: string }>(
      'SELECT status, content FROM messages WHERE id = $1',
      [replyId],
    );
    expect(row).toEqual({ status: 'stopped', content: stopped.body.content });
    // The new workers serve the session: its next reply completes, the stopped one is left alone.
    const next = await http('POST', `${a.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: 'still there?' },
    });
    fake.tokenDelayMs = 0;
    await sse.waitFor(
      (e) => e.event === 'reply.completed' && e.data.message.id === next.body.reply.id,
      20_000,
      'the next reply',
    );
    sse.close();
    expect(eventsOf(sse, replyId).at(-1)?.event).toBe('reply.stopped');
    const [again] = await d.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [replyId]);
    expect(again?.status).toBe('stopped');
  });
});

describe('stop across 2 api + 2 worker processes (local slow responder)', () => {
  let deployment: Deployment | undefined;

  beforeAll(async () => {
    deployment = await deploy({ LLM_PROVIDER: 'local', LOCAL_LLM_DELAY_MS: '60' });
  });

  afterAll(async () => {
    await undeploy(deployment);
  });

  it('stop through api B while a worker streams: api A’s subscriber sees deltas then reply.stopped, the text stored is theirs, nothing completes later', async () => {
    const { content } = await stopMidStream(deployment as Deployment, longQuestion(24));
    // The local responder echoes 24 words: it was cut short.
    expect(content.length).toBeLessThan(`Reply 1: you said "${longQuestion(24)}".`.length);
  });
});
