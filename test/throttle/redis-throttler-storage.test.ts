import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { RedisService } from '../../src/redis/redis.service.js';
import { RedisThrottlerStorage } from '../../src/throttle/redis-throttler.storage.js';
import { eventually } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const logger = pino({ level: 'silent' });

function configFor(redisUrl: string | undefined, prefix: string): AppConfig {
  return loadConfig({
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused' }),
    REDIS_KEY_PREFIX: prefix,
    RATE_LIMIT_EXPECTED_REPLICAS: '3',
  });
}

async function storageOn(
  redisUrl: string | undefined,
  prefix = uniqueName('throttle'),
): Promise<{ storage: RedisThrottlerStorage; redis: RedisService }> {
  const config = configFor(redisUrl, prefix);
  const redis = new RedisService(config, logger);
  await redis.connect();
  return { storage: new RedisThrottlerStorage(redis, config, logger), redis };
}

describe('RedisThrottlerStorage against real Redis', () => {
  const prefix = uniqueName('throttle');
  let redis: RedisService;
  let storage: RedisThrottlerStorage;
  let inspector: Redis;

  beforeAll(async () => {
    ({ storage, redis } = await storageOn(REDIS_URL, prefix));
    inspector = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    const keys = await inspector.keys(`${prefix}:*`);
    if (keys.length > 0) {
      await inspector.del(...keys);
    }
    inspector.disconnect();
    await redis.onApplicationShutdown();
  });

  it('counts concurrent hits atomically: each hit gets its own count, exactly `limit` pass', async () => {
    const records = await Promise.all(Array.from({ length: 50 }, () => storage.increment('sends:user:a', 60_000, 30)));
    expect(records.map((record) => record.totalHits).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(records.filter((record) => !record.isBlocked)).toHaveLength(30);
    expect(
      records.every((record) => record.limit === 30 && record.timeToExpire >= 1 && record.timeToExpire <= 60),
    ).toBe(true);
    const ttl = await inspector.pttl(`${prefix}:throttle:sends:user:a`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('keeps keys apart: another tracker or another limit starts at one', async () => {
    expect((await storage.increment('sends:user:b', 60_000, 30)).totalHits).toBe(1);
    expect((await storage.increment('reads:user:a', 60_000, 300)).totalHits).toBe(1);
  });

  it('starts a new window once the old one expired', async () => {
    await storage.increment('sends:user:short', 300, 1);
    expect((await storage.increment('sends:user:short', 300, 1)).isBlocked).toBe(true);
    await eventually(
      async () => ((await storage.increment('sends:user:short', 300, 1)).totalHits === 1 ? true : undefined),
      5000,
      'a new window',
    );
  });

  it('gives a key left without expiry one, so that it cannot block forever', async () => {
    await inspector.set(`${prefix}:throttle:sends:user:stuck`, '5');
    const record = await storage.increment('sends:user:stuck', 60_000, 30);
    expect(record.totalHits).toBe(6);
    expect(await inspector.pttl(`${prefix}:throttle:sends:user:stuck`)).toBeGreaterThan(0);
  });

  it('reads the keys that ride along with a hit, in their order, nil for a missing one, marked or not', async () => {
    const [one, missing, three] = ['ride:one', 'ride:missing', 'ride:three'].map((name) => redis.key(name));
    await inspector.set(one as string, 'v1');
    await inspector.set(three as string, 'v3');
    const keys = [one, missing, three] as string[];

    const plain = await storage.incrementReading('reads:user:ride', 60_000, 300, [...keys, redis.key('ride:last')]);
    expect(plain).toMatchObject({ free: false, values: ['v1', null, 'v3', null] });
    expect(plain.record.totalHits).toBe(1);

    const unmarked = await storage.incrementReading('sends:user:ride', 60_000, 30, keys, 'never-marked');
    expect(unmarked).toMatchObject({ free: false, values: ['v1', null, 'v3'] });
    await storage.markSent('was-sent');
    const repeat = await storage.incrementReading('sends:user:ride', 60_000, 30, keys, 'was-sent');
    expect(repeat).toMatchObject({ free: true, values: ['v1', null, 'v3'] });
    expect(repeat.record.totalHits).toBe(1);

    expect((await storage.incrementReading('reads:user:ride', 60_000, 300, [])).values).toEqual([]);
  });

  it('peeks without counting', async () => {
    await storage.increment('sends:user:peek', 60_000, 2);
    const peeked = await storage.peek('sends:user:peek', 60_000, 2);
    expect(peeked).toMatchObject({ totalHits: 1, isBlocked: false, limit: 2 });
    expect((await storage.increment('sends:user:peek', 60_000, 2)).totalHits).toBe(2);
    expect((await storage.peek('sends:user:unknown', 60_000, 2)).totalHits).toBe(0);
  });
});

describe('RedisThrottlerStorage without Redis', () => {
  it('fails open to limit / RATE_LIMIT_EXPECTED_REPLICAS while Redis is away, and shares the limit again once it is back', async () => {
    const server = await PrivateRedis.start();
    const { storage, redis } = await storageOn(server.url);
    try {
      expect((await storage.increment('sends:user:c', 60_000, 30)).totalHits).toBe(1);
      await server.stop();
      await eventually(async () => (redis.available ? undefined : true), 5000, 'the connection to notice');
      const local = [];
      for (let i = 0; i < 12; i += 1) {
        local.push(await storage.increment('sends:user:c', 60_000, 30));
      }
      expect(local.map((record) => record.limit)).toEqual(Array.from({ length: 12 }, () => 10));
      expect(local.filter((record) => !record.isBlocked)).toHaveLength(10);
      expect(local.slice(10).every((record) => record.isBlocked && record.timeToBlockExpire >= 1)).toBe(true);

      await server.start();
      await eventually(async () => (redis.available ? true : undefined), 10_000, 'the connection to come back');
      const shared = await storage.increment('sends:user:c', 60_000, 30);
      // The restarted Redis is empty: a fresh shared window, the full limit again.
      expect(shared).toMatchObject({ totalHits: 1, limit: 30, isBlocked: false });
    } finally {
      await redis.onApplicationShutdown();
      await server.stop();
    }
  });

  it('answers at once when Redis is unreachable from the start, instead of queueing', async () => {
    const server = await PrivateRedis.start();
    await server.stop();
    const config = configFor(server.url, uniqueName('throttle'));
    const redis = new RedisService(config, logger);
    const storage = new RedisThrottlerStorage(redis, config, logger);
    // As at start-up: the command connection is open, trying to reach a Redis that is not there.
    await expect(redis.connect(300)).rejects.toThrow(/did not become ready/);
    try {
      const records = await Promise.all(
        Array.from({ length: 11 }, () => storage.increment('sends:user:d', 60_000, 30)),
      );
      expect(records.filter((record) => !record.isBlocked)).toHaveLength(10);
    } finally {
      await redis.onApplicationShutdown();
    }
  });

  it('enforces the full limit in one process when there is no Redis at all (embedded mode)', async () => {
    const config = configFor(undefined, uniqueName('throttle'));
    const storage = new RedisThrottlerStorage(new RedisService(config, logger), config, logger);
    const records = await Promise.all(Array.from({ length: 31 }, () => storage.increment('sends:user:e', 60_000, 30)));
    expect(records.filter((record) => !record.isBlocked)).toHaveLength(30);
    expect(records.every((record) => record.limit === 30)).toBe(true);
  });
});
