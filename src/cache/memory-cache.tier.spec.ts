import { describe, expect, it } from 'vitest';
import { etagOf } from '../common/etag.util.js';
import { CacheEntry, MemoryCacheTier } from './memory-cache.tier.js';

const entry = (value: unknown): CacheEntry => new CacheEntry(value, JSON.stringify(value));

describe('MemoryCacheTier', () => {
  it('keeps at most CACHE_SIZE entries, evicting the least recently used and counting evictions', () => {
    let evicted = 0;
    const tier = new MemoryCacheTier({
      maxEntries: 2,
      maxBytes: 0,
      ttlMs: 60_000,
      onEvict: () => (evicted += 1),
    });
    tier.set('a', entry(1));
    tier.set('b', entry(2));
    expect(tier.get('a')?.value).toBe(1);
    tier.set('c', entry(3));
    expect(tier.get('b')).toBeUndefined();
    expect(tier.get('a')?.value).toBe(1);
    expect(tier.size).toBe(2);
    expect(evicted).toBe(1);
  });

  it('keeps the total size under the byte bound and refuses a value larger than the bound', () => {
    const big = 'x'.repeat(400);
    const tier = new MemoryCacheTier({ maxEntries: 100, maxBytes: 2000, ttlMs: 60_000 });
    for (let i = 0; i < 10; i += 1) {
      tier.set(`k${i}`, entry(big));
      expect(tier.calculatedBytes).toBeLessThanOrEqual(2000);
    }
    expect(tier.size).toBeLessThan(10);
    tier.set('huge', entry('y'.repeat(5000)));
    expect(tier.get('huge')).toBeUndefined();
  });

  it('drops entries after the TTL', () => {
    let now = 1_000_000;
    const tier = new MemoryCacheTier({ maxEntries: 10, maxBytes: 0, ttlMs: 1000, now: () => now });
    tier.set('a', entry(1));
    now += 999;
    expect(tier.get('a')?.value).toBe(1);
    now += 2;
    expect(tier.get('a')).toBeUndefined();
  });

  it('is off with CACHE_SIZE=0', () => {
    const tier = new MemoryCacheTier({ maxEntries: 0, maxBytes: 0, ttlMs: 1000 });
    tier.set('a', entry(1));
    expect(tier.enabled).toBe(false);
    expect(tier.get('a')).toBeUndefined();
  });

  it('clears everything at once (a new epoch)', () => {
    const tier = new MemoryCacheTier({ maxEntries: 10, maxBytes: 0, ttlMs: 1000 });
    tier.set('a', entry(1));
    tier.clear();
    expect(tier.size).toBe(0);
  });

  it('gives an entry the same ETag as the ETag interceptor gives its body', () => {
    const body = { items: [{ id: 'x', content: 'héllo "there"', seq: 1 }], nextBeforeSeq: null };
    expect(entry(body).etag).toBe(etagOf(body));
    expect(CacheEntry.unserialised(body).etag).toBe(etagOf(body));
    expect(new CacheEntry(JSON.parse(JSON.stringify(body)), JSON.stringify(body)).json).toBe(JSON.stringify(body));
    expect(CacheEntry.stored(JSON.stringify(body)).etag).toBe(etagOf(body));
  });

  it('keeps a stored entry as its UTF-8 bytes, in a buffer of their own, and sends those bytes', () => {
    const json = JSON.stringify({ items: [{ content: 'héllo' }] });
    const stored = CacheEntry.stored(json);
    expect(stored.body.equals(Buffer.from(json))).toBe(true);
    // Not a slice of Node's shared pool: the entry would keep the whole 8 KB slab alive.
    expect(stored.body.byteOffset).toBe(0);
    expect(stored.body.buffer.byteLength).toBe(Buffer.byteLength(json));
    expect(stored.bytes).toBe(Buffer.byteLength(json) + 64);
    const fresh = new CacheEntry(JSON.parse(json), json);
    expect(fresh.body.equals(stored.body)).toBe(true);
    expect(fresh.etag).toBe(stored.etag);
  });

  it('keeps a stored entry as its JSON and decodes it, once and revived, only when its value is asked for', () => {
    const json = JSON.stringify({ at: '2026-01-02T03:04:05.000Z' });
    let revived = 0;
    const stored = CacheEntry.stored(json, (parsed) => {
      revived += 1;
      return { at: new Date((parsed as { at: string }).at) };
    });
    expect(stored.isSerialised).toBe(true);
    expect(stored.json).toBe(json);
    expect(revived).toBe(0);
    expect(stored.value.at.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(stored.value).toBe(stored.value);
    expect(revived).toBe(1);
  });
});
