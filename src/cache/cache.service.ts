import type { ClsService } from 'nestjs-cls';
import { currentStore, type NotedVersion, type ParleyClsStore } from '../common/request-context.js';
import type { AppConfig } from '../config/app-config.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import {
  isSessionScope,
  VERSION_SCOPE,
  type CacheEntrySpec,
  type CacheKeyBuilder,
  type CacheKind,
  type VersionCounter,
} from './cache-key.builder.js';
import { CacheEntry, type MemoryCacheTier } from './memory-cache.tier.js';
import type { RedisCacheTier } from './redis-cache.tier.js';
import type { RidingRead, VersionStore } from './version-store.js';

export interface LoadOptions<T> {
  /** Whether a loaded value may be stored (e.g. only a session the caller owns). Default: anything defined. */
  accept?: (value: T) => boolean;
  /** Rebuilds a value from its JSON (dates, for instance). Default: the parsed JSON. */
  revive?: (parsed: unknown) => T;
}

const POLL_MS = 10;

/** A request's versions by counter name: each one's promise, or where a read under way will find it. */
type VersionMemo = Map<string, Promise<string | null> | NotedVersion>;

/** A prefetched version whose counter did not exist yet (see prefetchSessionVersions). */
const MISSING = '\u0000missing';

function counterName(counter: VersionCounter): string {
  return `${counter.scope}:${counter.id}`;
}

/**
 * Two tiers in front of the database, both keyed by version (see CacheKeyBuilder): the version is
 * read first (once per request), then the in-process tier, then Redis, then one filler per key
 * across all replicas reads the database while the others wait for it, within a bound.
 * Built by CacheModule (its tiers depend on the mode).
 */
export class CacheService {
  private readonly inflight = new Map<string, Promise<CacheEntry>>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: CacheKeyBuilder,
    private readonly versions: VersionStore,
    private readonly memory: MemoryCacheTier,
    private readonly shared: RedisCacheTier | null,
    private readonly metrics: MetricsService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  get enabled(): boolean {
    return this.config.cache.enabled;
  }

  async getOrLoad<T>(
    spec: CacheEntrySpec,
    load: () => Promise<T>,
    options: LoadOptions<T> = {},
  ): Promise<CacheEntry<T>> {
    if (!this.enabled) {
      this.metrics.cacheBypasses.inc({ reason: 'disabled' });
      return this.loadDirect(spec, load);
    }
    const version = await this.versionOf(this.keys.counterFor(spec));
    if (version === null) {
      this.metrics.cacheBypasses.inc({ reason: 'unverified' });
      return this.loadDirect(spec, load);
    }
    const key = this.keys.data(spec, version);
    const local = this.inMemory<T>(key);
    if (local !== undefined) {
      return local;
    }
    this.metrics.cacheRequests.inc({ tier: 'memory', result: 'miss' });
    const running = this.inflight.get(key) as Promise<CacheEntry<T>> | undefined;
    if (running !== undefined) {
      return running;
    }
    const filling = this.fill(spec, key, load, options).finally(() => this.inflight.delete(key));
    this.inflight.set(key, filling);
    return filling;
  }

  /** Entries and bytes of the in-process tier, for the admin statistics. */
  get memorySize(): number {
    return this.memory.size;
  }

  /**
   * Starts reading a session's versions (its data's, and its existence's that the ownership check
   * is cached under) without waiting for them, so that the request's first cache look-ups find
   * them on their way. The keys are returned for the rate limit's command to read them: `settle`
   * with what it found (undefined: it could not, and they are read apart). Null when there is
   * nothing to read that way; the read, if any, is then under way already. It writes nothing: a
   * counter that does not exist yet is created by the look-up, once the request got that far (it
   * may still be refused by its limit or its ownership check).
   */
  prefetchSessionVersions(sessionId: string): RidingRead<void> | null {
    return this.prefetch((['session', 'owner'] as const).map((kind) => ({ kind, scopeId: sessionId })));
  }

  /**
   * As prefetchSessionVersions, for a route cached under one of an owner's collections (their
   * sessions, memories, search): the version of `kind` for `ownerId`. Null for a session's kind.
   */
  prefetchOwnerVersion(kind: CacheKind, ownerId: string): RidingRead<void> | null {
    return isSessionScope(VERSION_SCOPE[kind]) ? null : this.prefetch([{ kind, scopeId: ownerId }]);
  }

  private prefetch(specs: ReadonlyArray<Pick<CacheEntrySpec, 'kind' | 'scopeId'>>): RidingRead<void> | null {
    if (!this.enabled || !this.cls.isActive()) {
      return null;
    }
    const memo = this.versionMemo();
    const counters: VersionCounter[] = [];
    const names: string[] = [];
    for (const spec of specs) {
      const counter = this.keys.counterFor(spec);
      const name = counterName(counter);
      if (!memo.has(name)) {
        counters.push(counter);
        names.push(name);
      }
    }
    if (counters.length === 0) {
      return null;
    }
    const plan = this.versions.planPeek?.(counters) ?? null;
    if (plan === null) {
      this.memoise(memo, names, this.versions.peek(counters));
      return null;
    }
    let resolve!: (versions: string[] | null | 'missing' | Promise<string[] | null | 'missing'>) => void;
    const read = new Promise<string[] | null | 'missing'>((settled) => {
      resolve = settled;
    });
    this.memoise(memo, names, read);
    return {
      keys: plan.keys,
      settle: (values) => {
        const versions = plan.settle(values);
        if (Array.isArray(versions)) {
          // Known from here on: the request's next look-ups need not wait for the promise.
          const known = (currentStore(this.cls).knownCacheVersions ??= new Map());
          names.forEach((name, i) => known.set(name, versions[i]));
        }
        resolve(versions);
      },
    };
  }

  /**
   * The entry of `spec` when the in-process tier holds it under a version this request already
   * has (read beside its rate limit): at once, without a promise. Undefined otherwise, and
   * getOrLoad() then makes the whole look-up (and counts it).
   */
  cachedNow<T>(spec: CacheEntrySpec): CacheEntry<T> | undefined {
    const store = this.enabled ? (this.cls.get() as ParleyClsStore | undefined) : undefined;
    const version = store?.knownCacheVersions?.get(counterName(this.keys.counterFor(spec)));
    if (version === undefined) {
      return undefined;
    }
    return this.inMemory<T>(this.keys.data(spec, version));
  }

  /** The in-process tier's entry under `key`, counted when there is one. */
  private inMemory<T>(key: string): CacheEntry<T> | undefined {
    const local = this.memory.get<T>(key);
    if (local !== undefined) {
      this.metrics.memoryCacheHit();
    }
    return local;
  }

  /**
   * Notes the versions `read` will give, by counter name, for the request's later look-ups. Most
   * reads never ask for them (the versions arrive beside the limit, and cachedNow finds them): the
   * promise of each one's version is made only when a look-up asks (see versionOf).
   */
  private memoise(memo: VersionMemo, names: readonly string[], read: Promise<string[] | null | 'missing'>): void {
    names.forEach((name, i) => memo.set(name, { read, index: i }));
  }

  private async versionOf(counter: VersionCounter): Promise<string | null> {
    if (!this.cls.isActive()) {
      return this.readVersion(counter);
    }
    const memo = this.versionMemo();
    const name = counterName(counter);
    const noted = memo.get(name);
    let version: Promise<string | null>;
    if (noted === undefined) {
      version = this.readVersion(counter);
      memo.set(name, version);
    } else if (noted instanceof Promise) {
      version = noted;
    } else {
      const { read, index } = noted;
      version = read.then((versions) => (versions === 'missing' ? MISSING : (versions?.[index] ?? null)));
      memo.set(name, version);
    }
    const read = await version;
    if (read !== MISSING) {
      return read;
    }
    // Prefetched before the counter existed: read it again, creating it.
    const created = this.readVersion(counter);
    memo.set(name, created);
    return created;
  }

  private versionMemo(): VersionMemo {
    const store = currentStore(this.cls);
    store.cacheVersions ??= new Map();
    return store.cacheVersions;
  }

  private async readVersion(counter: VersionCounter): Promise<string | null> {
    const versions = await this.versions.read([counter]);
    return versions?.[0] ?? null;
  }

  private async fill<T>(
    spec: CacheEntrySpec,
    key: string,
    load: () => Promise<T>,
    options: LoadOptions<T>,
  ): Promise<CacheEntry<T>> {
    if (this.shared === null) {
      return this.loadAndStore(spec, key, load, options, null);
    }
    const lockKey = this.keys.lock(key);
    const read = await this.shared.readOrLock(key, lockKey, this.config.cache.lockTtlMs);
    if (read.found) {
      this.metrics.cacheRequests.inc({ tier: 'redis', result: 'hit' });
      return this.remember(key, read.json, options);
    }
    this.metrics.cacheRequests.inc({ tier: 'redis', result: 'miss' });
    const attempt = read.lock;
    if (!attempt.held && attempt.reason === 'busy') {
      const filled = await this.waitForFill(key, lockKey);
      if (filled !== null) {
        return this.remember(key, filled, options);
      }
    }
    return this.loadAndStore(spec, key, load, options, attempt.held ? { lockKey, token: attempt.token } : null);
  }

  /** Another replica holds the fill lock: wait for its value, at most CACHE_LOCK_WAIT_MS. */
  private async waitForFill(key: string, lockKey: string): Promise<string | null> {
    const shared = this.shared as RedisCacheTier;
    const deadline = Date.now() + this.config.cache.lockWaitMs;
    const waited = this.metrics.lockWaitSeconds.startTimer({ lock: 'cache-fill' });
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const poll = await shared.poll(key, lockKey);
      if (poll.state === 'filled') {
        waited();
        this.metrics.cacheLockWaits.inc({ outcome: 'filled' });
        return poll.json;
      }
      if (poll.state === 'abandoned') {
        break;
      }
    }
    waited();
    this.metrics.cacheLockWaits.inc({ outcome: 'timeout' });
    this.metrics.lockAcquisitions.inc({ lock: 'cache-fill', result: 'timeout' });
    return null;
  }

  private async loadAndStore<T>(
    spec: CacheEntrySpec,
    key: string,
    load: () => Promise<T>,
    options: LoadOptions<T>,
    lock: { lockKey: string; token: string } | null,
  ): Promise<CacheEntry<T>> {
    let value: T;
    try {
      value = await this.loadFromDatabase(spec, load);
    } catch (error) {
      if (lock !== null) {
        void this.shared?.release(lock.lockKey, lock.token);
      }
      throw error;
    }
    const json = JSON.stringify(value) as string | undefined;
    const accepted = json !== undefined && (options.accept?.(value) ?? true);
    if (!accepted) {
      if (lock !== null) {
        void this.shared?.release(lock.lockKey, lock.token);
      }
      return CacheEntry.unserialised(value);
    }
    // This caller keeps the value it loaded; the tier keeps the JSON alone (CacheEntry.stored).
    const entry = new CacheEntry(value, json);
    if (Buffer.byteLength(json) > this.config.cache.maxEntryBytes) {
      // Served, never stored: one user's large pages must not fill the shared Redis.
      this.metrics.cacheBypasses.inc({ reason: 'too_large' });
      if (lock !== null) {
        void this.shared?.release(lock.lockKey, lock.token);
      }
      return entry;
    }
    this.memory.set(key, CacheEntry.stored(json, options.revive));
    this.updateSizeGauges();
    this.metrics.cacheFills.inc();
    if (this.shared !== null) {
      void this.shared.store(
        key,
        json,
        this.config.cache.ttlSeconds * 1000,
        lock?.lockKey ?? this.keys.lock(key),
        lock?.token ?? null,
      );
    }
    return entry;
  }

  private remember<T>(key: string, json: string, options: LoadOptions<T>): CacheEntry<T> {
    const entry = CacheEntry.stored(json, options.revive);
    this.memory.set(key, entry);
    this.updateSizeGauges();
    return entry;
  }

  private async loadDirect<T>(spec: CacheEntrySpec, load: () => Promise<T>): Promise<CacheEntry<T>> {
    const value = await this.loadFromDatabase(spec, load);
    return CacheEntry.unserialised(value);
  }

  private loadFromDatabase<T>(spec: CacheEntrySpec, load: () => Promise<T>): Promise<T> {
    this.metrics.cacheDbReads.inc({ kind: spec.kind });
    return load();
  }

  private updateSizeGauges(): void {
    this.metrics.cacheEntries.set(this.memory.size);
    this.metrics.cacheBytes.set(this.memory.calculatedBytes);
  }
}
