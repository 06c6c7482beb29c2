import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout.util.js';
import type { RedisService } from '../redis/redis.service.js';
import { redisScript } from '../redis/redis-script.js';

/** One open event stream counted against its user's SSE_MAX_STREAMS_PER_USER. */
export interface StreamSlot {
  release(): void;
}

/**
 * SSE_MAX_STREAMS_PER_USER over every replica: a slot per open stream, refused (null) once the
 * user holds as many as allowed.
 */
export abstract class StreamSlots {
  abstract acquire(userId: string, max: number): Promise<StreamSlot | null>;
}

/** One process (embedded mode), and the fallback of the Redis slots while Redis is away. */
export class InProcessStreamSlots extends StreamSlots {
  private readonly held = new Map<string, number>();

  acquire(userId: string, max: number): Promise<StreamSlot | null> {
    const count = this.held.get(userId) ?? 0;
    if (count >= max) {
      return Promise.resolve(null);
    }
    this.held.set(userId, count + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (released) {
          return;
        }
        released = true;
        const left = (this.held.get(userId) ?? 1) - 1;
        if (left <= 0) {
          this.held.delete(userId);
        } else {
          this.held.set(userId, left);
        }
      },
    });
  }
}

/**
 * A sorted set per user: one member per open stream, scored with the end of its lease (Redis's
 * clock, the same for every replica). Leases are renewed while the stream is open, so the slots of
 * a replica that died without releasing them free themselves within LEASE_MS.
 */
const ACQUIRE_SCRIPT = redisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

const RENEW_SCRIPT = redisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return renewed`);

const LEASE_MS = 30_000;
const CALL_TIMEOUT_MS = 1000;

export class RedisStreamSlots extends StreamSlots {
  private readonly fallback = new InProcessStreamSlots();

  constructor(
    private readonly redis: RedisService,
    private readonly logger: Logger,
  ) {
    super();
  }

  async acquire(userId: string, max: number): Promise<StreamSlot | null> {
    const key = this.redis.key('sse', 'streams', encodeURIComponent(userId));
    const member = randomBytes(12).toString('base64url');
    let granted: unknown;
    try {
      if (!this.redis.available) {
        throw new Error('Redis not connected');
      }
      granted = await withTimeout(
        this.redis.runScript(ACQUIRE_SCRIPT, [key], [LEASE_MS, max, member]),
        CALL_TIMEOUT_MS,
        'stream slot',
      );
    } catch (error) {
      // Streams need Redis for their events anyway; meanwhile each replica holds the cap on its own.
      this.logger.warn({ err: (error as Error).message }, 'stream slots unavailable; counting in this process');
      return this.fallback.acquire(userId, max);
    }
    if (Number(granted) !== 1) {
      return null;
    }
    const renew = setInterval(() => {
      this.redis.runScript(RENEW_SCRIPT, [key], [LEASE_MS, member]).catch(() => undefined);
    }, LEASE_MS / 3);
    renew.unref();
    let released = false;
    return {
      release: () => {
        if (released) {
          return;
        }
        released = true;
        clearInterval(renew);
        this.redis.commands.zrem(key, member).catch(() => undefined);
      },
    };
  }
}
