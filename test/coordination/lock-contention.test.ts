import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessLockService } from '../../src/coordination/in-process-lock.service.js';
import type { LockResult, LockService } from '../../src/coordination/lock.port.js';
import { RedisLockService } from '../../src/coordination/redis-lock.service.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { connectRedis } from '../support/redis-only.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const logger = pino({ level: 'silent' });

/** Holds `key` on `holder` while `during` runs, and answers what the holder's release told it. */
async function holdWhile<T>(holder: LockService, key: string, ttlMs: number, during: () => Promise<T>) {
  let inside: T | undefined;
  const held = await holder.tryWithLock(key, { ttlMs }, async () => {
    inside = await during();
  });
  return { held, inside: inside as T };
}

function contended(result: LockResult<unknown>): boolean | undefined {
  expect(result.acquired).toBe(true);
  return result.acquired ? result.contended : undefined;
}

/**
 * The lock tells its holder, when it lets go, whether anyone was refused it meanwhile: a refused
 * reply job hands its reply to the holder that way. Two replicas (two Redis connections) share one
 * Redis; the in-process lock of embedded mode answers the same.
 */
describe('lock contention, told at release', () => {
  const prefix = uniqueName('t');
  const services: RedisService[] = [];
  let one: RedisLockService;
  let two: RedisLockService;

  beforeAll(async () => {
    const replica = async (): Promise<RedisLockService> => {
      const redis = await connectRedis(REDIS_URL, prefix);
      services.push(redis);
      return new RedisLockService(redis, new MetricsService(), logger);
    };
    [one, two] = [await replica(), await replica()];
  });

  afterAll(async () => {
    await Promise.all(services.map((redis) => redis.onApplicationShutdown()));
  });

  it('Redis: uncontended false; refused by another replica meanwhile true, once (the mark goes with the release)', async () => {
    const key = uniqueName('reply-generation');
    expect(contended((await holdWhile(one, key, 10_000, async () => undefined)).held)).toBe(false);

    const { held, inside } = await holdWhile(one, key, 10_000, () =>
      Promise.all([
        two.tryWithLock(key, { ttlMs: 10_000 }, async () => 'ran'),
        one.tryWithLock(key, { ttlMs: 10_000 }, async () => 'ran'),
      ]),
    );
    expect(inside).toEqual([{ acquired: false }, { acquired: false }]);
    expect(contended(held)).toBe(true);
    expect(contended((await holdWhile(two, key, 10_000, async () => undefined)).held)).toBe(false);
  });

  it('Redis: the mark lives as long as the lock it marks, extended with it past its first TTL', async () => {
    const key = uniqueName('reply-generation');
    const { held, inside } = await holdWhile(one, key, 300, async () => {
      const refused = await two.tryWithLock(key, { ttlMs: 300 }, async () => 'ran');
      // Three TTLs later, kept alive by the holder's extensions alone.
      await sleep(900);
      return refused;
    });
    expect(inside).toEqual({ acquired: false });
    expect(contended(held)).toBe(true);
  });

  it('Redis: a holder whose lock was taken over cannot tell, and leaves the mark to the holder it belongs to', async () => {
    const key = uniqueName('reply-generation');
    const redis = services[0] as RedisService;
    const lockKey = `mutex:${redis.key('lock', key)}`;
    const { held } = await holdWhile(one, key, 10_000, async () => {
      // Expired and taken by another owner, who is then refused by a third attempt.
      await redis.commands.set(lockKey, 'another-holder', 'PX', 10_000);
      expect(await two.tryWithLock(key, { ttlMs: 10_000 }, async () => 'ran')).toEqual({ acquired: false });
    });
    expect(contended(held)).toBeUndefined();
    expect(await redis.commands.get(lockKey)).toBe('another-holder');
    expect(await redis.commands.exists(`${lockKey}:wanted`)).toBe(1);
  });

  it('in process: uncontended false, refused meanwhile true, once', async () => {
    const locks = new InProcessLockService(new MetricsService());
    const key = uniqueName('reply-generation');
    expect(contended((await holdWhile(locks, key, 1000, async () => undefined)).held)).toBe(false);
    const { held, inside } = await holdWhile(locks, key, 1000, () =>
      locks.tryWithLock(key, { ttlMs: 1000 }, async () => 'ran'),
    );
    expect(inside).toEqual({ acquired: false });
    expect(contended(held)).toBe(true);
    expect(contended((await holdWhile(locks, key, 1000, async () => undefined)).held)).toBe(false);
    // A holder whose work fails takes the mark with it too.
    await expect(
      locks.tryWithLock(key, { ttlMs: 1000 }, async () => {
        await locks.tryWithLock(key, { ttlMs: 1000 }, async () => 'ran');
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(contended((await holdWhile(locks, key, 1000, async () => undefined)).held)).toBe(false);
  });
});
