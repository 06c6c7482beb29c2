import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { fakeAnswer } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const QUESTION = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';

async function metric(app: AppProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${app.url}/metrics`);
  return valueOf(parseMetrics(await response.text()), name, labels);
}

/**
 * A worker dies (SIGKILL) or freezes past its locks (SIGSTOP) in the middle of streaming a reply:
 * another worker takes the reply over, and it ends complete exactly once.
 */
describe('worker failure mid-stream', () => {
  const fx = withCluster(
    [{ role: 'api' }, { role: 'worker' }, { role: 'worker' }],
    {
      LLM_TIMEOUT_MS: '20000',
      REPLY_JOB_LOCK_MS: '2000',
      REPLY_LOCK_TTL_MS: '2000',
      RECONCILE_INTERVAL_MS: '1000',
      MAX_PENDING_REPLIES: '100',
    },
    { fakeOpenAi: { tokenDelayMs: 150 } },
  );

  // Runs before withCluster's stop: a worker a failed test left frozen is resumed to stop cleanly.
  afterAll(() => {
    for (const worker of fx.processes('worker')) {
      worker.child.kill('SIGCONT');
    }
  });

  /** Sends, and returns the worker that is streaming the reply once a few tokens went through it. */
  async function sendAndFindStreamer(
    token: string,
    sessionId: string,
  ): Promise<{ replyId: string; streamer: AppProcess }> {
    const workers = fx.processes('worker');
    const before = await Promise.all(workers.map((w) => metric(w, 'parley_llm_tokens_total')));
    const sent = await http('POST', `${fx.app.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content: QUESTION },
    });
    expect(sent.status).toBe(202);
    const streamer = await eventually(
      async () => {
        const now = await Promise.all(workers.map((w) => metric(w, 'parley_llm_tokens_total')));
        const index = now.findIndex((value, i) => value - (before[i] ?? 0) >= 3);
        return index >= 0 ? workers[index] : undefined;
      },
      15_000,
      'a worker to stream the reply',
    );
    return { replyId: sent.body.reply.id as string, streamer };
  }

  async function completedReply(replyId: string): Promise<{ content: string; attempt: number }> {
    return eventually(
      async () => {
        const [row] = await fx.db.query<{ status: string; content: string; attempt: number }>(
          'SELECT status, content, attempt FROM messages WHERE id = $1',
          [replyId],
        );
        return row?.status === 'complete' ? row : undefined;
      },
      40_000,
      `reply ${replyId} to complete`,
    );
  }

  const expected = fakeAnswer([{ role: 'user', content: QUESTION }]).join('');

  it('a worker killed with SIGKILL mid-stream: the reply completes on another worker, exactly once', async () => {
    const token = await tokenFor(uniqueName('alice'));
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
    const sse = await openSse(`${fx.app.url}/v1/sessions/${session.body.id}/events`, token);
    const { replyId, streamer } = await sendAndFindStreamer(token, session.body.id);
    streamer.child.kill('SIGKILL');
    await streamer.exited;
    const survivor = fx.processes('worker').find((w) => w !== streamer) as AppProcess;

    const reply = await completedReply(replyId);
    expect(reply.content).toBe(expected);
    expect(reply.attempt).toBeGreaterThanOrEqual(2);
    await sse.waitFor((e) => e.event === 'reply.completed' && e.data.message.id === replyId, 10_000, 'reply.completed');
    await sleep(1000);
    sse.close();
    expect(sse.events.filter((e) => e.event === 'reply.completed')).toHaveLength(1);
    expect(await metric(survivor, 'parley_replies_total', { outcome: 'complete' })).toBeGreaterThanOrEqual(1);

    await fx.start({ role: 'worker' });
  });

  it('a worker frozen with SIGSTOP past its locks: another takes over, and after SIGCONT the stale worker is fenced out', async () => {
    const token = await tokenFor(uniqueName('bob'));
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} });
    const sse = await openSse(`${fx.app.url}/v1/sessions/${session.body.id}/events`, token);
    const { replyId, streamer } = await sendAndFindStreamer(token, session.body.id);
    const [lostBefore, fencedBefore] = await Promise.all([
      metric(streamer, 'parley_lock_acquisitions_total', { lock: 'reply-generation', result: 'lost' }),
      metric(streamer, 'parley_replies_total', { outcome: 'fenced' }),
    ]);
    streamer.child.kill('SIGSTOP');

    const reply = await completedReply(replyId);
    expect(reply.content).toBe(expected);
    expect(reply.attempt).toBeGreaterThanOrEqual(2);
    streamer.child.kill('SIGCONT');

    // Resumed, the stale worker learns it lost the lock (its work is aborted) or its write matches no row.
    await eventually(
      async () => {
        const [lost, fenced] = await Promise.all([
          metric(streamer, 'parley_lock_acquisitions_total', { lock: 'reply-generation', result: 'lost' }),
          metric(streamer, 'parley_replies_total', { outcome: 'fenced' }),
        ]);
        return lost > lostBefore || fenced > fencedBefore ? true : undefined;
      },
      15_000,
      'the stale worker to be fenced out',
    );
    await sleep(2000);
    sse.close();

    const [row] = await fx.db.query<{ status: string; content: string }>(
      'SELECT status, content FROM messages WHERE id = $1',
      [replyId],
    );
    expect(row).toEqual({ status: 'complete', content: expected });
    const completions = sse.events.filter((e) => e.event === 'reply.completed' && e.data.message.id === replyId);
    expect(completions).toHaveLength(1);
    expect(completions[0]?.data.message.content).toBe(expected);
    // Nothing of the stale attempt reaches the stream once the newer attempt streams.
    const deltas = sse.events.filter((e) => e.event === 'reply.delta' && e.data.messageId === replyId);
    const firstOfWinner = deltas.findIndex((e) => e.data.attempt === reply.attempt);
    expect(firstOfWinner).toBeGreaterThanOrEqual(0);
    expect(
      deltas
        .slice(firstOfWinner)
        .filter((e) => e.data.attempt !== reply.attempt)
        .map((e) => e.data),
    ).toEqual([]);
  });
});
