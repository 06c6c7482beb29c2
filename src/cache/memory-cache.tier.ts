import { LRUCache } from 'lru-cache';
import { etagOfJson } from '../common/etag.util.js';

/**
 * A value as both tiers hold it: its JSON for Redis, for the ETag and for the routes that send it
 * as it is, and the decoded value for those that use it.
 */
export class CacheEntry<T = unknown> {
  private tag: string | undefined;
  private decoded: { readonly value: T } | undefined;
  private revive: ((parsed: unknown) => T) | undefined;
  /** The JSON's UTF-8 bytes: what a stored entry keeps, and the body a route sends as it is. */
  private encoded: Buffer | undefined;

  constructor(
    value: T,
    private serialised: string | undefined,
  ) {
    this.decoded = { value };
  }

  /** A value read from the database and not stored: serialised only if someone asks. */
  static unserialised<T>(value: T): CacheEntry<T> {
    return new CacheEntry(value, undefined);
  }

  /**
   * A stored value kept as its JSON's bytes alone, decoded (and then kept) only when someone asks
   * for the value: the entries of the routes that send the JSON as it is (a history page) never
   * hold a decoded copy or a string, which would about double what the tier keeps on the heap (and
   * go uncounted by CACHE_MAX_BYTES). The bytes live outside the JavaScript heap, and a body sent
   * from them is written to the socket as it is: no string joined to the headers, no encoding.
   */
  static stored<T>(json: string, revive?: (parsed: unknown) => T): CacheEntry<T> {
    const entry = new CacheEntry<T>(undefined as T, undefined);
    entry.decoded = undefined;
    entry.revive = revive;
    entry.encoded = encode(json);
    return entry;
  }

  get value(): T {
    if (this.decoded === undefined) {
      const parsed: unknown = JSON.parse(this.json);
      this.decoded = { value: this.revive ? this.revive(parsed) : (parsed as T) };
    }
    return this.decoded.value;
  }

  /** Whether the JSON is at hand already (every stored entry): it can be sent as it is. */
  get isSerialised(): boolean {
    return this.serialised !== undefined || this.encoded !== undefined;
  }

  get json(): string {
    if (this.serialised !== undefined) {
      return this.serialised;
    }
    if (this.encoded !== undefined) {
      // A stored entry keeps its bytes only: rarely asked (a decode, a test).
      return this.encoded.toString('utf8');
    }
    const json: string | undefined = JSON.stringify(this.value);
    this.serialised = json ?? '';
    return this.serialised;
  }

  /** The JSON as the UTF-8 bytes a response carries. */
  get body(): Buffer {
    this.encoded ??= encode(this.json);
    return this.encoded;
  }

  /** A hash of the JSON the client receives (equal to etagOf(value)). */
  get etag(): string {
    this.tag ??= etagOfJson(this.encoded ?? this.json);
    return this.tag;
  }

  /** What the entry holds: its bytes, or (not stored) its JSON string at two bytes a character. */
  get bytes(): number {
    return (this.encoded === undefined ? this.json.length * 2 : this.encoded.length) + 64;
  }
}

/**
 * The bytes in a buffer of their own: a small Buffer.from() is a slice of a shared 8 KB pool, and
 * a cache entry that held one would keep the whole slab alive.
 */
function encode(json: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
  bytes.write(json, 'utf8');
  return bytes;
}

export interface MemoryTierOptions {
  maxEntries: number;
  /** 0: bounded by entries only. */
  maxBytes: number;
  ttlMs: number;
  onEvict?: () => void;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * The in-process tier. Its keys carry the version (see CacheKeyBuilder), so an entry is only ever
 * found by a request that read that same version from the version store first: the TTL bounds
 * memory, it is not what keeps entries fresh.
 */
export class MemoryCacheTier {
  private readonly lru: LRUCache<string, CacheEntry> | undefined;

  constructor(options: MemoryTierOptions) {
    if (options.maxEntries === 0) {
      return;
    }
    const onEvict = options.onEvict;
    this.lru = new LRUCache<string, CacheEntry>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      ...(options.now === undefined ? {} : { perf: { now: options.now }, ttlResolution: 0 }),
      ...(options.maxBytes > 0
        ? { maxSize: options.maxBytes, sizeCalculation: (entry: CacheEntry) => Math.max(1, entry.bytes) }
        : {}),
      ...(onEvict === undefined
        ? {}
        : {
            dispose: (_value: CacheEntry, _key: string, reason: LRUCache.DisposeReason) => {
              if (reason === 'evict') {
                onEvict();
              }
            },
          }),
    });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get<T>(key: string): CacheEntry<T> | undefined {
    return this.lru?.get(key) as CacheEntry<T> | undefined;
  }

  set(key: string, entry: CacheEntry): void {
    if (this.lru === undefined) {
      return;
    }
    if (this.lru.maxSize > 0 && entry.bytes > this.lru.maxSize) {
      return;
    }
    this.lru.set(key, entry);
  }

  clear(): void {
    this.lru?.clear();
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  get calculatedBytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}
