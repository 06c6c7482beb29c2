import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSession, subjectOf } from '../support/api.js';
import { http, type HttpResult } from '../support/http.js';
import { RedisMonitor, type MonitoredCommand } from '../support/redis-monitor.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const SENDS = 6;

function remaining(result: HttpResult): number {
  const value = result.headers.get('x-ratelimit-remaining');
  expect(value, `x-ratelimit-remaining on a ${result.status}`).toMatch(/^\d+$/);
  return Number(value);
}

/**
 * A stored send is marked in Redis before it is answered, and the `sends` limit's own command
 * recognises a repeat by that mark: a repeat costs nothing and no database look-up runs before a
 * send is counted. A repeat that finds no mark (expired, or Redis lost it) is counted and then
 * given back, and at the limit it is still answered: the database recognises it.
 */
describe('a send repeated under its idempotency key is recognised by its mark in the limit store', () => {
  const fx = withCluster(
    1,
    { RATE_LIMIT_SENDS: String(SENDS), RATE_LIMIT_WINDOW_MS: '60000', MAX_PENDING_REPLIES: '10000' },
    { privateRedis: true },
  );
  const prefix = (): string => fx.env.REDIS_KEY_PREFIX as string;
  let redis: Redis;
  let monitor: RedisMonitor;

  beforeAll(async () => {
    redis = new Redis(fx.redis.url);
    monitor = await RedisMonitor.start(fx.redis.url);
  });

  afterAll(() => {
    monitor?.close();
    redis?.disconnect();
  });

  const send = (token: string, sessionId: string, content: string, key: string): Promise<HttpResult> =>
    http('POST', `${fx.app.url}/v1/sessions/${sessionId}/messages`, {
      token,
      body: { content, clientMessageId: key },
    });
  const marks = (): Promise<string[]> => redis.keys(`${prefix()}:sent:*`);
  /** The commands the app's clients (not scripts) sent up to now. */
  async function commandsSoFar(): Promise<MonitoredCommand[]> {
    await monitor.caughtUp();
    return monitor.seen.filter((c) => c.source !== 'lua');
  }

  it('marks a stored send before answering it; its repeat finds the mark in the limit command and costs nothing', async () => {
    const token = await tokenFor(uniqueName('marked'));
    const sessionId = await insertSession(fx.db, token);
    const throttleKey = `${prefix()}:throttle:sends:user:${subjectOf(token)}`;
    monitor.seen.length = 0;
    const first = await send(token, sessionId, 'the original', 'k-1');
    expect(first.status).toBe(202);
    const [mark] = await marks();
    expect(mark).toBeDefined();
    expect(await redis.pttl(mark as string)).toBeGreaterThan(0);
    const commands = await commandsSoFar();
    // The limit's command carried the mark's key (looked for, not found), and the mark was set.
    const limit = commands.find((c) => c.args.includes(throttleKey));
    expect(limit?.args, JSON.stringify(commands)).toContain(mark);
    expect(commands.some((c) => c.args[0]?.toLowerCase() === 'set' && c.args[1] === mark)).toBe(true);
    const left = remaining(first);
    expect(left).toBe(SENDS - 1);

    const repeats = await Promise.all(Array.from({ length: 10 }, () => send(token, sessionId, 'the original', 'k-1')));
    for (const repeat of repeats) {
      expect(repeat.status).toBe(200);
      expect(repeat.body.message.id).toBe(first.body.message.id);
      expect(remaining(repeat)).toBe(left);
    }
    // The same key with another body: 422, and free as well.
    const reused = await send(token, sessionId, 'another body', 'k-1');
    expect(reused.status).toBe(422);
    expect(remaining(reused)).toBe(left);
    expect(Number(await redis.get(throttleKey))).toBe(1);
  });

  it('counts a repeat whose mark is gone, then gives it back; at the limit, such a repeat is still answered', async () => {
    const token = await tokenFor(uniqueName('unmarked'));
    const sessionId = await insertSession(fx.db, token);
    const throttleKey = `${prefix()}:throttle:sends:user:${subjectOf(token)}`;
    const first = await send(token, sessionId, 'the original', 'k-2');
    expect(first.status).toBe(202);
    const lose = async (): Promise<void> => {
      const found = await marks();
      if (found.length > 0) {
        await redis.del(...found);
      }
    };
    await lose();

    const repeat = await send(token, sessionId, 'the original', 'k-2');
    expect(repeat.status).toBe(200);
    expect(repeat.body.message.id).toBe(first.body.message.id);
    // Counted, then given back: the window holds the first send alone, as its header says.
    expect(remaining(repeat)).toBe(SENDS - 1);
    expect(Number(await redis.get(throttleKey))).toBe(1);
    // And the repeat marked it again.
    expect(await marks()).toHaveLength(1);

    await lose();
    const reused = await send(token, sessionId, 'another body', 'k-2');
    expect(reused.status).toBe(422);
    expect(Number(await redis.get(throttleKey))).toBe(1);

    for (let i = 1; i < SENDS; i += 1) {
      expect((await send(token, sessionId, `message ${i}`, `fresh-${i}`)).status).toBe(202);
    }
    expect((await send(token, sessionId, 'one too many', 'fresh-x')).status).toBe(429);
    await lose();
    const late = await send(token, sessionId, 'the original', 'k-2');
    expect(late.status).toBe(200);
    expect(late.body.message.id).toBe(first.body.message.id);
    expect(remaining(late)).toBe(0);
    // The refused send's hit stays counted; the late repeat's was given back.
    expect(Number(await redis.get(throttleKey))).toBe(SENDS + 1);
  });
});
