import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * Streams keep EVENT_STREAM_MAX_LENGTH events: a client that resumes after an event that has been
 * trimmed away is told so (events.missed, then what is retained), never silently given a gap.
 */
describe('resuming past what the Redis stream retains', () => {
  const prefix = uniqueName('t');
  const fx = withCluster(1, { REDIS_KEY_PREFIX: prefix, EVENT_STREAM_MAX_LENGTH: '10', MAX_PENDING_REPLIES: '1000' });
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });

  afterAll(() => {
    redis?.disconnect();
  });

  it('sends events.missed first after a trimmed Last-Event-ID, and nothing of the kind after a retained one', async () => {
    const token = await tokenFor(uniqueName('reader'));
    const first = await http('POST', `${fx.app.url}/v1/chat/send`, { token, body: { message: 'first' } });
    expect(first.status).toBe(200);
    const sessionId = first.body.sessionId as string;
    const path = `${fx.app.url}/v1/sessions/${sessionId}/events`;

    const live = await openSse(path, token);
    await http('POST', `${fx.app.url}/v1/chat/send`, { token, body: { message: 'second', sessionId } });
    await live.waitFor((e) => e.event === 'reply.completed', 10_000, 'reply.completed');
    live.close();
    const oldId = live.events[0]?.id as string;

    // Keep sending until Redis has trimmed oldId and what followed it (MAXLEN ~ trims whole nodes).
    const [key] = await redis.keys(`${prefix}:events:*${sessionId}*`);
    expect(key).toBeDefined();
    const second = live.events[1]?.id as string;
    const trimmedPast = async (): Promise<boolean> =>
      ((await redis.xrange(key as string, second, second)) as unknown[]).length === 0;
    for (let i = 0; i < 300 && !(await trimmedPast()); i += 1) {
      expect(
        (await http('POST', `${fx.app.url}/v1/sessions/${sessionId}/messages`, { token, body: { content: `m${i}` } }))
          .status,
      ).toBe(202);
    }
    expect(await trimmedPast()).toBe(true);

    const resumed = await openSse(path, token, { 'last-event-id': oldId });
    const missed = await resumed.waitFor(() => true, 10_000, 'the first event');
    expect(missed).toEqual({ id: oldId, event: 'events.missed', data: { lastEventId: oldId } });
    await resumed.waitFor((e) => e.event !== 'events.missed', 10_000, 'a retained event');
    resumed.close();
    const retained = resumed.events.slice(1);
    expect(retained.every((e) => e.event !== 'events.missed')).toBe(true);

    const latest = resumed.events.at(-1)?.id as string;
    const current = await openSse(path, token, { 'last-event-id': latest });
    await new Promise((resolve) => setTimeout(resolve, 500));
    current.close();
    expect(current.events.map((e) => e.event)).not.toContain('events.missed');
  });
});
