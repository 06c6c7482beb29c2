import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisService } from '../redis/redis.service.js';
import type { CacheKeyBuilder, VersionCounter } from './cache-key.builder.js';
import { withTimeout } from '../common/with-timeout.util.js';
import type { VersionBumpRelay } from './version-bump.relay.js';
import { randomVersionBase, VersionStore, type RidingRead } from './version-store.js';
import { redisScript } from '../redis/redis-script.js';

/**
 * INCR each key; a key that did not exist jumps from 1 to a random base instead. ARGV[1] is the
 * counters' expiry in ms (0: none), then one random base per key.
 */
const BUMP_SCRIPT = redisScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('INCR', key)
  if v == 1 then v = redis.call('INCRBY', key, ARGV[i + 1]) end
  if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', key, ARGV[1]) end
  out[i] = v
end
return out`);

/** GET each key; a missing key is created at its random base (unless another request just did). Same ARGV. */
const READ_OR_CREATE_SCRIPT = redisScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    v = ARGV[i + 1]
    if tonumber(ARGV[1]) > 0 then
      redis.call('SET', key, v, 'PX', ARGV[1])
    else
      redis.call('SET', key, v)
    end
  end
  out[i] = v
end
return out`);

/**
 * Counters of sessions and owners nobody writes to any more expire; one that comes back starts at
 * a new random value, which is only a cache miss (the same holds for the epoch).
 */
const COUNTER_TTL_MS = 7 * 24 * 3600 * 1000;

/** How long a write whose bump failed on a live connection waits for the new epoch (see bump()). */
const REPAIR_WAIT_MS = 1500;
const RETRY_MS = 250;
/**
 * After losing its connection, a replica reads the database for this long once it has moved the
 * epoch: the other replicas reconnect within their retry backoff (at most 2 s, see RedisService)
 * and move the epoch again, which covers the writes they could not announce meanwhile. Without
 * this, the first replica back could serve an entry that a slower replica's write made stale.
 */
const REJOIN_GRACE_MS = 5000;

/**
 * Versions shared by every replica. The version of a counter is `<epoch>.<counter>`; the epoch
 * moves whenever a replica (re)connects or fails to bump a counter, so entries filled before a
 * Redis outage, a Redis restart or a lost bump can never be found again. Until this replica has
 * moved the epoch itself, it trusts nothing (reads return null and go to the database).
 */
export class RedisVersionStore extends VersionStore {
  private trusted = false;
  /** Set when the connection was lost: the cache stays aside until then even once trusted. */
  private trustedFrom = 0;
  private disconnected = false;
  /** Moves on every loss of trust: a read or a repair that began before it must not count. */
  private generation = 0;
  private repairing = false;

  constructor(
    private readonly redis: RedisService,
    private readonly keys: CacheKeyBuilder,
    private readonly logger: Logger,
    /** Called once the epoch moved: whatever this process kept from before is useless now. */
    private readonly onEpochMoved: () => void,
    /** Carries the bumps this replica cannot make to the replicas that can (none: one database client less). */
    private readonly relay: VersionBumpRelay | null = null,
    /** CACHE_REDIS_TIMEOUT_MS: a read or bump that takes longer counts as failed. */
    private readonly timeoutMs = 1000,
  ) {
    super();
  }

  /** Watches the connection: every (re)connection moves the epoch before the cache is trusted again. */
  start(): void {
    const connection = this.connection;
    connection.on('close', () => {
      this.trusted = false;
      this.disconnected = true;
      this.generation += 1;
    });
    connection.on('ready', () => {
      this.distrust();
    });
    this.distrust();
    this.relay?.start((counters) => this.bumpHere(counters));
  }

  get isTrusted(): boolean {
    return this.trusted && Date.now() >= this.trustedFrom;
  }

  async read(counters: readonly VersionCounter[]): Promise<string[] | null> {
    return this.readCounters(counters, true) as Promise<string[] | null>;
  }

  override peek(counters: readonly VersionCounter[]): Promise<string[] | null | 'missing'> {
    return this.readCounters(counters, false);
  }

  override planPeek(counters: readonly VersionCounter[]): RidingRead<string[] | null | 'missing'> | null {
    if (!this.isTrusted || !this.redis.available) {
      return null;
    }
    const generation = this.generation;
    return {
      keys: this.counterKeys(counters),
      settle: (values) =>
        values === undefined ? this.readCounters(counters, false) : this.versionsOf(values, generation, false),
    };
  }

  private counterKeys(counters: readonly VersionCounter[]): string[] {
    const names = [this.keys.epoch()];
    for (const counter of counters) {
      names.push(this.keys.counter(counter));
    }
    return names;
  }

  private async readCounters(
    counters: readonly VersionCounter[],
    create: boolean,
  ): Promise<string[] | null | 'missing'> {
    if (!this.isTrusted || !this.redis.available) {
      return null;
    }
    const names = this.counterKeys(counters);
    const generation = this.generation;
    try {
      let values: ReadonlyArray<string | null> = await withTimeout(
        this.connection.mget(...names),
        this.timeoutMs,
        'version read',
      );
      if (create && values.includes(null)) {
        values = (await withTimeout(
          this.redis.runScript(READ_OR_CREATE_SCRIPT, names, [COUNTER_TTL_MS, ...names.map(() => randomVersionBase())]),
          this.timeoutMs,
          'version create',
        )) as string[];
      }
      return this.versionsOf(values, generation, create);
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'cache versions unavailable; reading the database');
      return null;
    }
  }

  /** `<epoch>.<counter>` of each counter read (epoch first), unless the trust was lost meanwhile. */
  private versionsOf(
    values: ReadonlyArray<string | number | null>,
    generation: number,
    created: boolean,
  ): string[] | null | 'missing' {
    if (!created && values.includes(null)) {
      return 'missing';
    }
    // The trust may have been lost (and even regained) while the read was in flight.
    if (!this.trusted || generation !== this.generation) {
      return null;
    }
    const epoch = String(values[0]);
    const versions: string[] = [];
    for (let i = 1; i < values.length; i += 1) {
      versions.push(`${epoch}.${String(values[i])}`);
    }
    return versions;
  }

  /**
   * A bump that fails leaves older entries reachable on the replicas that still read Redis. With
   * the connection up (a timeout, an error), the write waits briefly for the new epoch; when that
   * does not come, or with the connection down, the bump is relayed to the replicas that still
   * reach Redis (see VersionBumpRelay), so read-your-writes holds everywhere. It never fails the
   * write.
   */
  async bump(counters: readonly VersionCounter[]): Promise<void> {
    if (await this.bumpHere(counters)) {
      return;
    }
    this.distrust();
    if (this.redis.available && (await this.repaired(REPAIR_WAIT_MS))) {
      return;
    }
    await this.relay?.relay(counters);
  }

  /** Bumps the counters in Redis; false when that did not happen (nothing is thrown). */
  private async bumpHere(counters: readonly VersionCounter[]): Promise<boolean> {
    if (!this.redis.available) {
      return false;
    }
    const names = counters.map((counter) => this.keys.counter(counter));
    try {
      const random = [COUNTER_TTL_MS, ...names.map(() => randomVersionBase())];
      await withTimeout(this.redis.runScript(BUMP_SCRIPT, names, random), this.timeoutMs, 'version bump');
      return true;
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'cache version bump failed');
      return false;
    }
  }

  /** Whether the epoch moved within `withinMs`. */
  private async repaired(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (!this.trusted && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.trusted;
  }

  private get connection(): Redis {
    return this.redis.commands;
  }

  private distrust(): void {
    this.trusted = false;
    this.generation += 1;
    void this.repair();
  }

  /** Moves the epoch, retrying while Redis is reachable; a later 'ready' starts it again otherwise. */
  private async repair(): Promise<void> {
    if (this.repairing) {
      return;
    }
    this.repairing = true;
    try {
      while (!this.trusted && this.redis.available) {
        const generation = this.generation;
        try {
          await this.redis.runScript(BUMP_SCRIPT, [this.keys.epoch()], [0, randomVersionBase()]);
          if (generation === this.generation) {
            this.onEpochMoved();
            if (this.disconnected) {
              this.disconnected = false;
              this.trustedFrom = Date.now() + REJOIN_GRACE_MS;
            }
            this.trusted = true;
            this.logger.info('cache epoch moved; cache in use');
          }
        } catch (error) {
          this.logger.debug({ err: (error as Error).message }, 'cache epoch not moved yet');
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    } finally {
      this.repairing = false;
    }
  }
}
