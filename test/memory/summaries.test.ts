import { describe, expect, it } from 'vitest';
import { SUMMARY_SYSTEM_PROMPT } from '../../src/replies/summary/summary.service.js';
import { estimateTokens } from '../../src/replies/summary/summary-digest.util.js';
import type { FakeBehaviour, RecordedRequest } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const BUDGET = 400;
const EXCHANGES = 150;

/** The fake model as a summariser: it says up to which message of the transcript it summarised. */
function summaryAnswer(body: RecordedRequest['body']): FakeBehaviour | undefined {
  if (body.messages[0]?.content.startsWith(SUMMARY_SYSTEM_PROMPT) !== true) {
    return undefined;
  }
  const numbers = [...(body.messages.at(-1)?.content ?? '').matchAll(/message (\d+)\b/g)].map((m) => Number(m[1]));
  return { kind: 'text', text: `Summary up to message ${Math.max(0, ...numbers)}.` };
}

describe('summaries of a long session (production: 2 processes, the fake OpenAI model)', () => {
  const fx = withCluster(
    2,
    {
      LLM_API_KEY: 'sk-test',
      LLM_MODEL: 'fake-model',
      LLM_PROMPT_TOKEN_BUDGET: String(BUDGET),
      LLM_SYSTEM_PROMPT: 'Be brief.',
    },
    { fakeOpenAi: { route: summaryAnswer } },
  );

  it(`summarises the older part of ${2 * EXCHANGES} messages incrementally, never overlapping, and keeps the prompt within budget`, async () => {
    const token = await tokenFor(uniqueName('long'));
    let sessionId: string | undefined;
    for (let i = 1; i <= EXCHANGES; i += 1) {
      const sent = await http('POST', `${fx.cluster.url(i)}/v1/chat/send`, {
        token,
        body: { message: `message ${i} about the harbour`, ...(sessionId === undefined ? {} : { sessionId }) },
      });
      expect(sent.status, sent.text).toBe(200);
      sessionId = sent.body.sessionId as string;
    }
    // A burst of sends at once, over both processes: replies and summaries race.
    const burst = await Promise.all(
      [1, 2, 3].map((b) =>
        http('POST', `${fx.cluster.url(b)}/v1/sessions/${sessionId as string}/messages`, {
          token,
          body: { content: `burst ${b} about the harbour` },
        }),
      ),
    );
    expect(burst.map((b) => b.status)).toEqual([202, 202, 202]);
    await eventually(
      async () => {
        const history = await http('GET', `${fx.cluster.url(0)}/v1/sessions/${sessionId as string}/messages?limit=10`, {
          token,
        });
        return history.body.items.every((m: any) => m.status === 'complete') ? true : undefined;
      },
      30_000,
      'the burst replies',
    );
    const last = EXCHANGES;
    const rows = await fx.db.query<{ from_seq: number; through_seq: number; content: string }>(
      'SELECT from_seq, through_seq, content FROM session_summaries WHERE session_id = $1 ORDER BY from_seq',
      [sessionId],
    );
    expect(rows.length).toBeGreaterThan(1);
    // Extended incrementally: each summary starts right after the one it extends; none overlap.
    expect(rows[0]?.from_seq).toBe(1);
    for (let r = 1; r < rows.length; r += 1) {
      expect(rows[r]?.from_seq).toBe((rows[r - 1]?.through_seq ?? 0) + 1);
    }

    // The last prompts: system, summary, recent messages newer than the summary; within budget.
    const replyPrompts = fx.fake.requests.slice(-20);
    const withSummary = replyPrompts.filter((r) =>
      r.body.messages.some((m) => m.content.startsWith('A summary of the earlier conversation:')),
    );
    expect(withSummary.length).toBeGreaterThan(0);
    for (const request of withSummary) {
      const messages = request.body.messages;
      expect(messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
      const summary = messages[1]?.content ?? '';
      expect(summary).toMatch(/^A summary of the earlier conversation:\nSummary up to message \d+\.$/);
      const upTo = Number(/message (\d+)/.exec(summary)?.[1]);
      const recentUserNumbers = messages
        .slice(2)
        .filter((m) => m.role === 'user')
        .filter((m) => m.content.startsWith('message '))
        .map((m) => Number(/^message (\d+)/.exec(m.content)?.[1]));
      expect(Math.min(...recentUserNumbers)).toBeGreaterThan(upTo);
      expect(messages.reduce((sum, m) => sum + estimateTokens(m.content), 0)).toBeLessThanOrEqual(BUDGET);
    }
    // The newest message is always there; the oldest are only in the summary.
    const final = fx.fake.requests.at(-1)?.body.messages ?? [];
    expect(final.at(-1)?.content).toMatch(/^burst \d about the harbour$/);
    expect(JSON.stringify(final)).toContain(`message ${last} about the harbour`);
    expect(JSON.stringify(final)).not.toContain('"message 1 about the harbour"');

    // Every stored summary is counted once (the last ones may still be in the making: wait for them).
    await eventually(
      async () => {
        let stored = 0;
        let summaryTokens = 0;
        for (const app of fx.cluster.apps) {
          const text = await (await fetch(`${app.url}/metrics`)).text();
          stored += Number(/parley_summaries_total\{outcome="stored"\} (\d+)/.exec(text)?.[1] ?? 0);
          summaryTokens += Number(/parley_prompt_tokens_sum\{part="summary"\} ([\d.]+)/.exec(text)?.[1] ?? 0);
        }
        const now = await fx.db.query('SELECT 1 FROM session_summaries WHERE session_id = $1', [sessionId]);
        return stored === now.length && summaryTokens > 0 ? true : undefined;
      },
      20_000,
      'every stored summary counted',
    );
  });

  it('answers as before when summarising fails: recent messages only, nothing stored', async () => {
    fx.fake.route = (body) =>
      body.messages[0]?.content.startsWith(SUMMARY_SYSTEM_PROMPT) === true
        ? { kind: 'status', status: 500 }
        : undefined;
    const token = await tokenFor(uniqueName('nosummary'));
    let sessionId: string | undefined;
    for (let i = 1; i <= 30; i += 1) {
      const sent = await http('POST', `${fx.cluster.url(i)}/v1/chat/send`, {
        token,
        body: { message: `message ${i} about the lighthouse`, ...(sessionId === undefined ? {} : { sessionId }) },
      });
      expect(sent.status, sent.text).toBe(200);
      expect(sent.body.reply.status).toBe('complete');
      sessionId = sent.body.sessionId as string;
    }
    expect(fx.fake.summaryRequests.length).toBeGreaterThan(0);
    const rows = await fx.db.query('SELECT 1 FROM session_summaries WHERE session_id = $1', [sessionId]);
    expect(rows).toEqual([]);
    const last = fx.fake.requests.at(-1)?.body.messages ?? [];
    expect(last.some((m) => m.content.startsWith('A summary'))).toBe(false);
    expect(last.at(-1)?.content).toBe('message 30 about the lighthouse');
  });
});
