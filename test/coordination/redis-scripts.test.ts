import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisScript } from '../../src/redis/redis-script.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { connectRedis } from '../support/redis-only.js';
import { PrivateRedis } from '../support/private-redis.js';
import { uniqueName } from '../support/services.js';

// Declared where the module loads, as Parley's own scripts are: before any connection opens.
const APPEND = redisScript("redis.call('RPUSH', KEYS[1], ARGV[1]); return redis.call('LLEN', KEYS[1])");
const ECHO = redisScript('return ARGV[1]');

async function untilReady(connection: Redis): Promise<void> {
  while (connection.status !== 'ready') {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Scripts run as the command connection's custom commands, and most of them inside an
 * auto-pipelined batch, whose pipeline takes them from its class instead of copying them all:
 * they must run there as they did, in call order with the plain commands of the same batch, on
 * every connection of the process, on a new socket after a reconnection and after Redis lost them.
 */
describe('Redis scripts on the command connection', () => {
  const prefix = uniqueName('t');
  const services: RedisService[] = [];
  // Its own server: the test flushes every script, which would make other suites' calls retry.
  let server: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    services.push(await connectRedis(server.url, prefix), await connectRedis(server.url, prefix));
    admin = new Redis(server.url);
  });

  afterAll(async () => {
    await Promise.all(services.map((redis) => redis.onApplicationShutdown()));
    await admin.quit();
    await server.stop();
  });

  /** One turn's worth of scripts and plain commands on `redis`, answered in the order they were made. */
  async function batch(redis: RedisService, key: string, count: number): Promise<unknown[]> {
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i += 1) {
      calls.push(redis.runScript(APPEND, [key], [`s${i}`]));
      calls.push(redis.commands.rpush(key, `c${i}`));
      calls.push(redis.runScript(ECHO, [], [`e${i}`]));
    }
    return Promise.all(calls);
  }

  function expected(count: number): unknown[] {
    return Array.from({ length: count }, (_, i) => [2 * i + 1, 2 * i + 2, `e${i}`]).flat();
  }

  it('a batch runs its scripts in call order with its plain commands, on each connection of the process', async () => {
    for (const redis of services) {
      const key = redis.key(uniqueName('order'));
      expect(await batch(redis, key, 50)).toEqual(expected(50));
      const order = Array.from({ length: 50 }, (_, i) => [`s${i}`, `c${i}`]).flat();
      expect(await redis.commands.lrange(key, 0, -1)).toEqual(order);
    }
  });

  it('a pipeline of the command connection holds no copy of the scripts, yet runs them', async () => {
    const redis = services[0] as RedisService;
    const pipeline = redis.commands.pipeline() as unknown as Record<string, (...args: unknown[]) => unknown> & {
      exec(): Promise<Array<[Error | null, unknown]>>;
    };
    expect(Object.keys(pipeline).filter((name) => name.startsWith('parleyScript'))).toEqual([]);
    (pipeline[ECHO.name] as (...args: unknown[]) => unknown)(0, 'piped');
    expect(await pipeline.exec()).toEqual([[null, 'piped']]);
  });

  it('an answered batch lets go of its commands and their replies, once every caller has its reply', async () => {
    const redis = services[0] as RedisService;
    const connection = redis.commands as unknown as { pipeline: (...args: unknown[]) => unknown };
    const makePipeline = connection.pipeline;
    type Batch = { _queue: unknown[]; _result: unknown[]; promise: Promise<unknown> };
    const made: Batch[] = [];
    connection.pipeline = (...args: unknown[]) => {
      const pipeline = makePipeline(...args) as Batch;
      made.push(pipeline);
      return pipeline;
    };
    try {
      const key = redis.key(uniqueName('released'));
      const answered = batch(redis, key, 50);
      // Made for the batch, and holding its 150 commands until Redis answers them.
      expect(made.map((pipeline) => pipeline._queue.length)).toEqual([150]);
      expect(await answered).toEqual(expected(50));
      expect(made.map((pipeline) => [pipeline._queue.length, pipeline._result.length])).toEqual([[0, 0]]);
      // Nor the copy of the replies its promise was resolved with.
      expect(await made[0]?.promise).toEqual([]);
    } finally {
      connection.pipeline = makePipeline;
    }
  });

  it('scripts run again on the new socket after a reconnection, and after Redis lost them', async () => {
    const redis = services[1] as RedisService;
    const id = await redis.commands.client('ID');
    const closed = once(redis.commands, 'close');
    await admin.client('KILL', 'ID', String(id));
    await closed;
    await untilReady(redis.commands);
    const key = redis.key(uniqueName('reconnected'));
    expect(await batch(redis, key, 20)).toEqual(expected(20));

    await admin.script('FLUSH');
    const flushed = redis.key(uniqueName('flushed'));
    const results = await batch(redis, flushed, 20);
    expect(results.filter((result) => typeof result === 'string')).toEqual(
      Array.from({ length: 20 }, (_, i) => `e${i}`),
    );
    expect(await redis.commands.llen(flushed)).toBe(40);
  });
});
