import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { fakeAnswer } from '../support/fake-openai.js';
import { eventually, http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const QUESTION = 'a b c d e f g h i j k l m n o p q r s t';

async function tokensStreamed(app: AppProcess): Promise<number> {
  return valueOf(parseMetrics(await (await fetch(`${app.url}/metrics`)).text()), 'parley_llm_tokens_total');
}

/** SIGTERM on a worker whose reply would outlive the grace period: it hands the reply back and exits cleanly. */
describe('worker shutdown', () => {
  const fx = withCluster(
    [{ role: 'api' }, { role: 'worker' }, { role: 'worker' }],
    { SHUTDOWN_GRACE_MS: '3000', REPLY_LOCK_TTL_MS: '2000' },
    { fakeOpenAi: { tokenDelayMs: 250 } },
  );

  it('stops taking jobs, hands back the reply it cannot finish in time, and exits 0; another worker completes it', async () => {
    const api = fx.app;
    const workers = fx.processes('worker');
    const token = await tokenFor(uniqueName('alice'));
    const session = await http('POST', `${api.url}/v1/sessions`, { token, body: {} });
    const sent = await http('POST', `${api.url}/v1/sessions/${session.body.id}/messages`, {
      token,
      body: { content: QUESTION },
    });
    expect(sent.status).toBe(202);
    const streamer = await eventually(
      async () => {
        const counts = await Promise.all(workers.map(tokensStreamed));
        const index = counts.findIndex((count) => count >= 2);
        return index >= 0 ? workers[index] : undefined;
      },
      15_000,
      'a worker to stream',
    );

    streamer.child.kill('SIGTERM');
    // 0 is a clean stop; the process exits 1 only if its grace period ran out.
    expect(await streamer.exited).toBe(0);

    const reply = await eventually(
      async () => {
        const [row] = await fx.db.query<{ status: string; content: string; attempt: number }>(
          'SELECT status, content, attempt FROM messages WHERE id = $1',
          [sent.body.reply.id],
        );
        return row?.status === 'complete' ? row : undefined;
      },
      30_000,
      'the handed-back reply to complete',
    );
    expect(reply.content).toBe(fakeAnswer([{ role: 'user', content: QUESTION }]).join(''));
    expect(reply.attempt).toBeGreaterThanOrEqual(2);
    expect(streamer.output()).toContain('handed back');
  });
});
