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

/** The value if there is one; else the fill lock for this caller (1) or not, another holds it (0). */
const READ_OR_LOCK_SCRIPT = redisScript(`
local value = redis.call('GET', KEYS[1])
if value then return {'value', value} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {'lock', 1} end
return {'lock', 0}`);

export type LockAttempt = { held: true; token: string } | { held: false; reason: 'busy' | 'unavailable' };

/** A value found in the shared tier, or the outcome of asking for its fill lock. */
export type ReadOrLock = { found: true; json: string } | { found: false; lock: LockAttempt };

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

  /**
   * The stored value, or else the fill lock (`SET NX PX`, released only by its holder): both in one
   * script, so a miss costs one round trip before the database, not two.
   */
  async readOrLock(key: string, lockKey: string, ttlMs: number): Promise<ReadOrLock> {
    if (!this.redis.available) {
      return { found: false, lock: { held: false, reason: 'unavailable' } };
    }
    const token = randomBytes(12).toString('base64url');
    try {
      const [kind, value] = (await withTimeout(
        this.redis.runScript(READ_OR_LOCK_SCRIPT, [key, lockKey], [token, ttlMs]),
        this.timeoutMs,
        'cache read',
      )) as [string, string | number];
      if (kind === 'value') {
        return { found: true, json: String(value) };
      }
      return { found: false, lock: value === 1 ? { held: true, token } : { held: false, reason: 'busy' } };
    } catch {
      return { found: false, lock: { held: false, reason: 'unavailable' } };
    }
  }

  /** One look at a fill in progress: done, still running, or given up (lock gone, no value). */
  async poll(key: string, lockKey: string): Promise<FillPoll> {
    if (!this.redis.available) {
      return { state: 'abandoned' };
    }
    try {
      const [json, lock] = await withTimeout(this.connection.mget(key, lockKey), this.timeoutMs, 'cache poll');
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
  async store(key: string, json: string, ttlMs: number, lockKey: string, token: string | null): Promise<void> {
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
