import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencedOutError } from '../../src/coordination/event-stream.port.js';
import { RedisEventStream } from '../../src/coordination/redis-event-stream.js';
import { RedisLockService } from '../../src/coordination/redis-lock.service.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { connectRedis, redisOnlyConfig } from '../support/redis-only.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const logger = pino({ level: 'silent' });

/** Events fenced by a lock, against the real Redis: the holder appends, a holder that lost it does not. */
describe('events fenced by the generation lock (Redis)', () => {
  const prefix = uniqueName('t');
  let redis: RedisService;
  let stream: RedisEventStream;
  let locks: RedisLockService;

  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, prefix);
    stream = new RedisEventStream(redis, redisOnlyConfig(REDIS_URL, prefix), logger);
    locks = new RedisLockService(redis, new MetricsService(), logger);
  });

  afterAll(async () => {
    await redis?.onApplicationShutdown();
  });

  const length = (streamKey: string): Promise<number> => redis.commands.xlen(`${prefix}:events:${streamKey}`);

  it('appends while the lock is held, in order, and refuses once another holder took it over', async () => {
    const streamKey = uniqueName('session');
    const result = await locks.tryWithLock(
      `reply-generation:${streamKey}`,
      { ttlMs: 10_000 },
      async (_signal, fence) => {
        expect(fence).not.toBeNull();
        const ids = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            stream.publish(streamKey, 'reply.delta', { i }, { extendTtl: i === 0, fence }),
          ),
        );
        // The stale holder's view: the lock now names someone else (it expired and was taken over).
        await redis.commands.set(fence?.key as string, 'another-holder', 'PX', 10_000);
        const refused = await stream
          .publish(streamKey, 'reply.delta', { i: 20 }, { fence })
          .catch((error: unknown) => error);
        return { ids, refused };
      },
    );
    expect(result.acquired).toBe(true);
    if (!result.acquired) {
      return;
    }
    expect(result.value.refused).toBeInstanceOf(FencedOutError);
    const entries = (await redis.commands.xrange(`${prefix}:events:${streamKey}`, '-', '+')) as Array<
      [string, string[]]
    >;
    expect(entries.map(([id]) => id)).toEqual(result.value.ids);
    expect(entries.map(([, fields]) => JSON.parse(fields[3] as string).i)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(await redis.commands.pttl(`${prefix}:events:${streamKey}`)).toBeGreaterThan(0);
  });

  it('appends without a fence as before', async () => {
    const streamKey = uniqueName('session');
    await stream.publish(streamKey, 'message.created', { ok: true });
    expect(await length(streamKey)).toBe(1);
  });
});
