import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const USERS = 8;

interface Accepted {
  messageId: string;
  replyId: string;
  content: string;
}

/**
 * F9: Redis is flushed, then killed and restarted empty, while users keep sending. Every send
 * answered 202 keeps its message, and its reply completes once Redis is back (the reconciler
 * enqueues what the lost queue forgot).
 */
describe('Redis flushed and restarted under load', () => {
  const fx = withCluster(
    [{ role: 'api' }, { role: 'worker' }],
    {
      // A slow, narrow worker: a backlog of queued replies builds up for the flush to wipe out.
      LOCAL_LLM_DELAY_MS: '30',
      REPLY_CONCURRENCY: '2',
      MAX_PENDING_REPLIES: '10000',
      REPLY_JOB_LOCK_MS: '2000',
      REPLY_LOCK_TTL_MS: '2000',
      RECONCILE_INTERVAL_MS: '1000',
    },
    { privateRedis: true },
  );

  it('completes the reply of every send answered 202 and loses no message', async () => {
    const { db, redis } = fx;
    const apps = fx.cluster.apps;
    const api = fx.app;
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const token = await tokenFor(uniqueName(`user${i}`));
        const session = await http('POST', `${api.url}/v1/sessions`, { token, body: {} });
        return { token, sessionId: session.body.id as string };
      }),
    );
    const accepted: Accepted[] = [];
    const refused: number[] = [];
    // Group A stops just before the flush, so nothing but the reconciler brings back its lost jobs;
    // group B keeps sending through the flush and the outage.
    const sending = { a: true, b: true };
    const load = Promise.all(
      users.map(async (user, u) => {
        const group = u % 2 === 0 ? 'a' : 'b';
        for (let n = 0; sending[group]; n += 1) {
          const content = `user ${u} message ${n}`;
          const sent = await http('POST', `${api.url}/v1/sessions/${user.sessionId}/messages`, {
            token: user.token,
            body: { content },
          }).catch(() => undefined);
          if (sent?.status === 202) {
            accepted.push({ messageId: sent.body.message.id, replyId: sent.body.reply.id, content });
          } else {
            refused.push(sent?.status ?? 0);
          }
          await sleep(200);
        }
      }),
    );

    await sleep(2000);
    sending.a = false;
    await sleep(200);
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    await sleep(1500);
    await redis.stop();
    await sleep(1500);
    // No send follows the outage: what was accepted while Redis was away has no job anywhere, and
    // only the reconciler can bring it back.
    sending.b = false;
    await load;
    await redis.start();

    expect(accepted.length).toBeGreaterThan(USERS * 5);
    const ids = accepted.map((a) => a.replyId);
    const rows = await eventually(
      async () => {
        const found = await db.query<{ id: string; status: string }>(
          'SELECT id, status FROM messages WHERE id = ANY($1::uuid[])',
          [ids],
        );
        return found.length === ids.length && found.every((r) => r.status === 'complete') ? found : undefined;
      },
      40_000,
      'every accepted reply to complete',
    );
    expect(rows).toHaveLength(accepted.length);

    const messages = await db.query<{ id: string; content: string }>(
      'SELECT id, content FROM messages WHERE id = ANY($1::uuid[])',
      [accepted.map((a) => a.messageId)],
    );
    const stored = new Map(messages.map((m) => [m.id, m.content]));
    for (const sent of accepted) {
      expect(stored.get(sent.messageId)).toBe(sent.content);
    }
    // Neither process died of the outage (a lock extension failing must not crash a worker).
    expect(apps.map((app) => app.child.exitCode)).toEqual([null, null]);
    // Sends may be refused while Redis is away only as overload or a limit, never as a server error.
    expect(refused.filter((status) => status >= 500 && status !== 503)).toEqual([]);
  });
});
