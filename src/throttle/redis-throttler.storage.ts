import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import type { RedisService } from '../redis/redis.service.js';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** A fixed window per key, atomically: count the hit and return the window's remaining time. */
const HIT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }`;

const LOCAL_KEYS_MAX = 100_000;

/**
 * Limits shared by every replica (Redis). When Redis is unavailable it fails open to a limit of
 * its own per process, the shared limit divided by RATE_LIMIT_EXPECTED_REPLICAS, and returns to
 * the shared limit by itself once Redis answers again. Without Redis at all (embedded mode, one
 * process) the local window enforces the full limit.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly local = new Map<string, { hits: number; expiresAt: number }>();

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {}

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    if (!this.redis.enabled) {
      return this.incrementLocally(key, ttl, limit);
    }
    try {
      const [hits, remainingMs] = (await this.redis.commands.eval(HIT_SCRIPT, 1, this.redis.key('throttle', key), ttl)) as [number, number];
      return this.record(hits, remainingMs, limit);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'rate limit store unavailable; using the local limit');
      return this.incrementLocally(key, ttl, Math.max(1, Math.floor(limit / this.config.limits.expectedReplicas)));
    }
  }

  private incrementLocally(key: string, ttl: number, limit: number): ThrottlerStorageRecord {
    const now = Date.now();
    let entry = this.local.get(key);
    if (entry === undefined || entry.expiresAt <= now) {
      if (this.local.size >= LOCAL_KEYS_MAX) {
        this.prune(now);
      }
      entry = { hits: 0, expiresAt: now + ttl };
      this.local.set(key, entry);
    }
    entry.hits += 1;
    return this.record(entry.hits, entry.expiresAt - now, limit);
  }

  private prune(now: number): void {
    for (const [key, entry] of this.local) {
      if (entry.expiresAt <= now) {
        this.local.delete(key);
      }
    }
  }

  private record(hits: number, remainingMs: number, limit: number): ThrottlerStorageRecord {
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    return { totalHits: hits, timeToExpire: seconds, isBlocked: hits > limit, timeToBlockExpire: seconds };
  }
}
