import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisService } from '../redis/redis.service.js';
import { withTimeout } from '../common/with-timeout.util.js';
import { redisScript } from '../redis/redis-script.js';

/** Stores the value, then releases the fill lock if this filler still holds it. */
const STORE_AND_RELEASE_SCRIPT = redisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1`);

const RELEASE_SCRIPT = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);


export type LockAttempt = { held: true; token: string } | { held: false; reason: 'busy' | 'unavailable' };

export type FillPoll = { state: 'filled'; json: string } | { state: 'pending' } | { state: 'abandoned' };

/**
 * The shared tier: values by versioned key with a TTL, and the single-flight fill locks
 * (`SET NX PX`, released only by their holder). Every call gives up quickly and reports "nothing"
 * rather than failing: the caller then reads the database.
 */
export class RedisCacheTier {
  constructor(
    private readonly redis: RedisService,
    /** CACHE_REDIS_TIMEOUT_MS: a hung Redis costs a request at most this per call. */
    private readonly timeoutMs = 1000,
  ) {}

  private get connection(): Redis {
    return this.redis.commands;
  }

  async get(key: string): Promise<string | null> {
    if (!this.redis.available) {
      return null;
    }
    try {
      return await withTimeout(this.connection.get(key), this.timeoutMs, 'cache read');
    } catch {
      return null;
    }
  }

  /** Whether this caller now holds the fill lock, or why not (another filler holds it, or Redis is away). */
  async tryLock(lockKey: string, ttlMs: number): Promise<LockAttempt> {
    if (!this.redis.available) {
      return { held: false, reason: 'unavailable' };
    }
    const token = randomBytes(12).toString('base64url');
    try {
      const result = await withTimeout(
        this.connection.set(lockKey, token, 'PX', ttlMs, 'NX'),
        this.timeoutMs,
        'cache lock',
      );
      return result === 'OK' ? { held: true, token } : { held: false, reason: 'busy' };
    } catch {
      return { held: false, reason: 'unavailable' };
    }
  }

  /** One look at a fill in progress: done, still running, or given up (lock gone, no value). */
  async poll(key: string, lockKey: string): Promise<FillPoll> {
    if (!this.redis.available) {
      return { state: 'abandoned' };
    }
    try {
      const [json, lock] = await withTimeout(
        this.connection.mget(key, lockKey),
        this.timeoutMs,
        'cache poll',
      );
      if (json !== null && json !== undefined) {
        return { state: 'filled', json };
      }
      return lock === null ? { state: 'abandoned' } : { state: 'pending' };
    } catch {
      // Slow, not gone: keep waiting, within the caller's bound.
      return { state: 'pending' };
    }
  }

  /** Best effort: a value that is not stored is only a later miss. */
  async store(
    key: string,
    json: string,
    ttlMs: number,
    lockKey: string,
    token: string | null,
  ): Promise<void> {
    if (!this.redis.available) {
      return;
    }
    try {
      await this.redis.runScript(STORE_AND_RELEASE_SCRIPT, [key, lockKey], [json, ttlMs, token ?? '']);
    } catch {
      // the entry expires with its lock
    }
  }

  async release(lockKey: string, token: string): Promise<void> {
    if (!this.redis.available) {
      return;
    }
    try {
      await this.redis.runScript(RELEASE_SCRIPT, [lockKey], [token]);
    } catch {
      // the lock expires by itself
    }
  }
}
