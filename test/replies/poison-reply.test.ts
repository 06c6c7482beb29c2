import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * A reply that has been attempted over and over (workers lost mid-reply, errors that are not the
 * model's) is failed with a readable error, so the session's later replies are not held back.
 */
describe('a reply that cannot be made', () => {
  const fx = withCluster([{ role: 'api' }], { LLM_MAX_TRIES: '2', MAX_PENDING_REPLIES: '10' });

  it('fails after LLM_MAX_TRIES × 3 attempts in all with generation_failed, and the next reply completes', async () => {
    const { app: api, db } = fx;
    const token = await tokenFor(uniqueName('user'));
    const session = (await http('POST', `${api.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const messages = `${api.url}/v1/sessions/${session}/messages`;
    const stuck = await http('POST', messages, { token, body: { content: 'tried too often' } });
    const next = await http('POST', messages, { token, body: { content: 'after it' } });
    expect([stuck.status, next.status]).toEqual([202, 202]);
    // No worker yet: both replies wait. The first one has been attempted 6 times already (= 2 × 3).
    await db.query('UPDATE messages SET attempt = 6 WHERE id = $1', [stuck.body.reply.id]);

    await fx.start({ role: 'worker' });
    const history = await eventually(
      async () => {
        const page = await http('GET', messages, { token });
        return page.body.items.every((m: any) => m.status === 'complete' || m.status === 'failed')
          ? page.body.items
          : undefined;
      },
      30_000,
      'both replies to finish',
    );
    const replies = history.filter((m: any) => m.role === 'assistant');
    expect(replies.map((m: any) => m.status)).toEqual(['failed', 'complete']);
    expect(replies[0].error).toEqual({
      code: 'generation_failed',
      message: expect.stringMatching(/send your message again/),
    });
    expect(replies[0].id).toBe(stuck.body.reply.id);
  });
});
