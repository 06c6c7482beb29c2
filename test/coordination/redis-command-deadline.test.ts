import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CommandDeadline, deadlineTickMs } from '../../src/redis/command-deadline.js';
import { redisScript } from '../../src/redis/redis-script.js';
import { COMMAND_TIMEOUT_MS, type RedisService } from '../../src/redis/redis.service.js';
import { PrivateRedis } from '../support/private-redis.js';
import { connectRedis } from '../support/redis-only.js';
import { uniqueName } from '../support/services.js';

const TIMEOUT_MS = 300;

// Declared where the module loads, as Parley's own scripts are: before any connection opens.
const ECHO = redisScript('return ARGV[1]');

/** When each call settled, after it was made, and how. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; value?: unknown; error?: string }> {
  const started = Date.now();
  try {
    const value = await call();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error: (error as Error).message };
  }
}

/**
 * The command connection's deadline (CommandDeadline, in place of ioredis's timer per command): a
 * command that Redis leaves unanswered fails once it has waited the deadline, never before, and the
 * connection stays usable, every later answer going to its own command.
 */
describe('the command connection’s deadline', () => {
  let server: PrivateRedis;
  const connections: Redis[] = [];
  const deadlines: CommandDeadline[] = [];

  beforeAll(async () => {
    server = await PrivateRedis.start();
  });

  afterEach(() => {
    server.thaw();
  });

  afterAll(async () => {
    deadlines.forEach((deadline) => deadline.stop());
    connections.forEach((connection) => connection.disconnect());
    await server.stop();
  });

  /** A connection as the command connection is made, with the deadline and no timer of ioredis's. */
  async function connection(): Promise<Redis> {
    const redis = new Redis(server.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      retryStrategy: () => 100,
    });
    redis.on('error', () => undefined);
    connections.push(redis);
    deadlines.push(new CommandDeadline(redis, TIMEOUT_MS));
    while (redis.status !== 'ready') {
      await sleep(10);
    }
    return redis;
  }

  it('fails each command Redis leaves unanswered once it waited the deadline, then goes on in order', async () => {
    const redis = await connection();
    const key = uniqueName('deadline');
    await redis.set(key, 'before');
    server.freeze();
    // Sent at once (one auto-pipelined batch), and later, while Redis stays silent.
    const first = Array.from({ length: 20 }, (_, i) => timed(() => redis.incr(`${key}:n${i % 2}`)));
    await sleep(TIMEOUT_MS / 2);
    const later = [timed(() => redis.get(key)), timed(() => redis.set(key, 'during'))];
    const results = await Promise.all([...first, ...later]);
    for (const result of results) {
      expect(result.error).toBe('Command timed out');
      expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
      // At most two ticks late; the bound here leaves room for a loaded machine.
      expect(result.ms).toBeLessThan(TIMEOUT_MS + 2 * deadlineTickMs(TIMEOUT_MS) + 1000);
    }

    server.thaw();
    // Redis ran what it was sent (as with ioredis's own timeout, a command that timed out may have
    // run): each later answer is its own command's, not one of those that timed out.
    expect(await redis.get(key)).toBe('during');
    expect(await redis.mget(`${key}:n0`, `${key}:n1`)).toEqual(['10', '10']);
    expect(await redis.incr(`${key}:n0`)).toBe(11);
  });

  it('leaves alone a command that is answered within the deadline, however long it waited', async () => {
    const redis = await connection();
    const key = uniqueName('deadline');
    server.freeze();
    const calls = Array.from({ length: 20 }, (_, i) => timed(() => redis.rpush(key, String(i))));
    await sleep(TIMEOUT_MS / 2);
    server.thaw();
    const results = await Promise.all(calls);
    expect(results.map((result) => result.error)).toEqual(Array.from({ length: 20 }, () => undefined));
    expect(results.map((result) => result.value)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Long past the deadline of those, nothing more fails.
    await sleep(TIMEOUT_MS * 2);
    expect(await redis.lrange(key, 0, -1)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('applies COMMAND_TIMEOUT_MS to the process’s command connection: its scripts and commands fail, then work again', async () => {
    const redis: RedisService = await connectRedis(server.url, uniqueName('t'));
    try {
      const key = redis.key('deadline');
      await redis.commands.set(key, '1');
      server.freeze();
      const [plain, script, piped] = await Promise.all([
        timed(() => redis.commands.get(key)),
        timed(() => redis.runScript(ECHO, [], ['hello'])),
        // A pipeline answers each of its commands' errors in its result.
        timed(async () => {
          const replies = (await redis.commands.pipeline().incr(key).get(key).exec()) ?? [];
          const errors = new Set(replies.map(([error]) => error?.message));
          throw new Error(errors.size === 1 ? [...errors].join() : JSON.stringify([...errors]));
        }),
      ]);
      for (const result of [plain, script, piped]) {
        expect(result.error).toBe('Command timed out');
        expect(result.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 1);
        expect(result.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 2 * deadlineTickMs(COMMAND_TIMEOUT_MS) + 2000);
      }
      server.thaw();
      expect(await redis.commands.incr(key)).toBe(3);
      expect(await redis.runScript(ECHO, [], ['again'])).toBe('again');
    } finally {
      server.thaw();
      await redis.onApplicationShutdown();
    }
  });
});
