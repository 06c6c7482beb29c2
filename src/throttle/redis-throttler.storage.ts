import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import type { RedisService } from '../redis/redis.service.js';
import { redisScript, type RedisScript } from '../redis/redis-script.js';

export interface ThrottlerStorageRecord {
  totalHits: number;
  /** The limit in force: the shared one, or this replica's share while Redis is away. */
  limit: number;
  /** Seconds until the window resets (at least 1). */
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * A fixed window per key (KEYS[1]), atomically: count the hit and return the window's remaining
 * time, whether the hit was free, then the value of each further key (nil when it does not exist):
 * keys that the same request needs read (its cache versions) ride along in the same command. With
 * ARGV[2] = '1', KEYS[2] is the mark of a send stored under the request's idempotency key
 * (markSent): when it exists the request repeats that send, and its hit is not counted. The further
 * keys are read by one MGET: each call out of a script costs Redis a few microseconds, and a cached
 * read's three GETs made the script take 20 µs of Redis's time (15 µs with the MGET).
 */
export const HIT_SCRIPT = redisScript(`
local marked = ARGV[2] == '1'
local free = marked and redis.call('EXISTS', KEYS[2]) == 1
local hits
if free then
  hits = tonumber(redis.call('GET', KEYS[1]) or '0')
else
  hits = redis.call('INCR', KEYS[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  if not free then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
  end
  ttl = tonumber(ARGV[1])
end
local out = { hits, ttl, free and 1 or 0 }
local first = marked and 3 or 2
if #KEYS >= first then
  local values = redis.call('MGET', unpack(KEYS, first))
  for i = 1, #values do
    out[3 + i] = values[i]
  end
end
return out`);

/** The window's state without counting a hit (for a retried send, which costs no quota). */
export const PEEK_SCRIPT = redisScript(`
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }`);

/** Gives back one hit of the current window (a send refused for a reason that costs no quota). */
export const REFUND_SCRIPT = redisScript(`
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits > 0 then hits = redis.call('DECR', KEYS[1]) end
return { hits, redis.call('PTTL', KEYS[1]) }`);

const LOCAL_KEYS_MAX = 100_000;

/**
 * How long a stored send's mark lets its repeats through without counting them: retries come
 * within seconds or minutes; a later one is counted, then given back (SendQuotaRefundInterceptor).
 */
const SENT_MARK_TTL_MS = 5 * 60_000;

interface LocalWindow {
  hits: number;
  expiresAt: number;
}

/**
 * Limits shared by every replica (Redis). While Redis is unavailable it fails open to a limit of
 * its own per process, the shared limit divided by RATE_LIMIT_EXPECTED_REPLICAS, and goes back to
 * the shared limit as soon as the command connection is ready again. It never waits on a Redis
 * that is away: the command connection has no offline queue and a short command timeout. Without
 * Redis at all (embedded mode, one process) the local window enforces the full limit.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  /** Windows keyed by limit and tracker; bounded, and only used while Redis is away. */
  private readonly local = new Map<string, LocalWindow>();
  private degraded = false;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {}

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    return (await this.incrementReading(key, ttl, limit, [])).record;
  }

  /**
   * increment(), also reading `keys` in the same command: their values in order (null for a
   * missing key), or undefined when the shared store could not be asked (the limit is then this
   * replica's share, as in increment()). With `sent` (sentMarkOf: a send's idempotency key), the
   * hit is free when a send under that key was marked stored (markSent): `free` is then true.
   */
  async incrementReading(
    key: string,
    ttl: number,
    limit: number,
    keys: readonly string[],
    sent?: string,
  ): Promise<{ record: ThrottlerStorageRecord; values: Array<string | null> | undefined; free: boolean }> {
    if (!this.redis.enabled) {
      return { record: this.record(this.hitLocally(key, ttl), limit), values: undefined, free: false };
    }
    const marked = sent !== undefined;
    const shared = await this.evalShared(
      HIT_SCRIPT,
      key,
      ttl,
      marked ? [this.redis.key('sent', sent), ...keys] : keys,
      marked ? 1 : 0,
    );
    if (shared !== undefined) {
      const [free, ...values] = shared.values;
      return { record: this.record(shared, limit), values: values as Array<string | null>, free: Number(free) === 1 };
    }
    return { record: this.record(this.hitLocally(key, ttl), this.localLimit(limit)), values: undefined, free: false };
  }

  /**
   * Whether the shared store answers now: otherwise each replica counts on its own (and a send
   * cannot be recognised by its mark).
   */
  get shared(): boolean {
    return this.redis.enabled && this.redis.available;
  }

  /**
   * Marks a send stored under its idempotency key (sentMarkOf) for SENT_MARK_TTL_MS: a repeat of it
   * that comes meanwhile is recognised by the limit's own command and costs nothing. Best effort:
   * a repeat that finds no mark is counted, then given back once its send turns out a repeat.
   */
  async markSent(sent: string): Promise<void> {
    if (!this.shared) {
      return;
    }
    try {
      await this.redis.commands.set(this.redis.key('sent', sent), '1', 'PX', SENT_MARK_TTL_MS);
    } catch (error) {
      this.degrade((error as Error).message);
    }
  }

  /** The current window of `key` without counting a hit. */
  async peek(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    if (this.redis.enabled) {
      const shared = await this.evalShared(PEEK_SCRIPT, key, ttl);
      if (shared !== undefined) {
        return this.record(shared, limit);
      }
    }
    const window = this.local.get(key);
    const now = Date.now();
    const current = window !== undefined && window.expiresAt > now ? window : { hits: 0, expiresAt: now + ttl };
    return this.record(
      { hits: current.hits, remainingMs: current.expiresAt - now },
      this.redis.enabled ? this.localLimit(limit) : limit,
    );
  }

  /**
   * Takes back one hit counted by increment() in the current window. Best effort: a window that
   * ended meanwhile, or a Redis that went away, keeps its count.
   */
  async refund(key: string, ttl: number): Promise<void> {
    if (this.redis.enabled && this.redis.available) {
      await this.evalShared(REFUND_SCRIPT, key, ttl);
      return;
    }
    const window = this.local.get(key);
    if (window !== undefined && window.expiresAt > Date.now() && window.hits > 0) {
      window.hits -= 1;
    }
  }

  private async evalShared(
    script: RedisScript,
    key: string,
    ttl: number,
    alsoRead: readonly string[] = [],
    ...args: number[]
  ): Promise<{ hits: number; remainingMs: number; values: Array<string | number | null> } | undefined> {
    if (!this.redis.available) {
      this.degrade('not connected');
      return undefined;
    }
    try {
      const [hits, remainingMs, ...values] = (await this.redis.runScript(
        script,
        [this.redis.key('throttle', key), ...alsoRead],
        [ttl, ...args],
      )) as [number, number, ...Array<string | number | null>];
      this.recover();
      return { hits, remainingMs, values };
    } catch (error) {
      this.degrade((error as Error).message);
      return undefined;
    }
  }

  private localLimit(limit: number): number {
    return Math.max(1, Math.floor(limit / this.config.limits.expectedReplicas));
  }

  private degrade(reason: string): void {
    if (!this.degraded) {
      this.degraded = true;
      this.logger.warn(
        { err: reason, expectedReplicas: this.config.limits.expectedReplicas },
        'rate limit store unavailable; each replica enforces its share of the limits',
      );
    }
  }

  private recover(): void {
    if (this.degraded) {
      this.degraded = false;
      this.local.clear();
      this.logger.info('rate limit store available again; limits are shared by every replica');
    }
  }

  private hitLocally(key: string, ttl: number): { hits: number; remainingMs: number } {
    const now = Date.now();
    let window = this.local.get(key);
    if (window === undefined || window.expiresAt <= now) {
      if (this.local.size >= LOCAL_KEYS_MAX) {
        this.prune(now);
      }
      window = { hits: 0, expiresAt: now + ttl };
      this.local.set(key, window);
    }
    window.hits += 1;
    return { hits: window.hits, remainingMs: window.expiresAt - now };
  }

  /** Drops expired windows; if every window is live, the oldest half goes (fail open, not out of memory). */
  private prune(now: number): void {
    for (const [key, window] of this.local) {
      if (window.expiresAt <= now) {
        this.local.delete(key);
      }
    }
    if (this.local.size >= LOCAL_KEYS_MAX) {
      let excess = this.local.size - LOCAL_KEYS_MAX / 2;
      for (const key of this.local.keys()) {
        if (excess-- <= 0) {
          break;
        }
        this.local.delete(key);
      }
    }
  }

  private record({ hits, remainingMs }: { hits: number; remainingMs: number }, limit: number): ThrottlerStorageRecord {
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    return {
      totalHits: hits,
      limit,
      timeToExpire: seconds,
      isBlocked: hits > limit,
      timeToBlockExpire: seconds,
    };
  }
}
