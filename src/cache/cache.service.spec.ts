import type { ClsService } from 'nestjs-cls';
import { describe, expect, it } from 'vitest';
import type { ParleyClsStore } from '../common/request-context.js';
import { loadConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CacheKeyBuilder, type CacheEntrySpec } from './cache-key.builder.js';
import { CacheService } from './cache.service.js';
import { LocalVersionStore } from './local-version.store.js';
import { MemoryCacheTier } from './memory-cache.tier.js';

/** Outside a request: no per-request memo of versions. */
const noRequest = { isActive: () => false } as unknown as ClsService<ParleyClsStore>;

function setup(env: Record<string, string> = {}): {
  cache: CacheService;
  versions: LocalVersionStore;
  metrics: MetricsService;
} {
  const config = loadConfig(env);
  const versions = new LocalVersionStore();
  const metrics = new MetricsService();
  const memory = new MemoryCacheTier({ maxEntries: 100, maxBytes: 0, ttlMs: 60_000 });
  const cache = new CacheService(config, new CacheKeyBuilder('t'), versions, memory, null, metrics, noRequest);
  return { cache, versions, metrics };
}

const history: CacheEntrySpec = { kind: 'history', ownerId: 'alice', scopeId: 's1', params: { limit: '5' } };

describe('CacheService (in-process versions)', () => {
  it('serves a stored value until its version moves, then loads again', async () => {
    const { cache, versions } = setup();
    let loads = 0;
    const load = async (): Promise<{ n: number }> => ({ n: (loads += 1) });
    expect((await cache.getOrLoad(history, load)).value).toEqual({ n: 1 });
    expect((await cache.getOrLoad(history, load)).value).toEqual({ n: 1 });
    await versions.bump([{ scope: 'session', id: 's1' }]);
    expect((await cache.getOrLoad(history, load)).value).toEqual({ n: 2 });
    expect(loads).toBe(2);
  });

  it('keeps owners, kinds and queries apart', async () => {
    const { cache } = setup();
    await cache.getOrLoad(history, async () => 'alice');
    expect((await cache.getOrLoad({ ...history, ownerId: 'bob' }, async () => 'bob')).value).toBe('bob');
    expect((await cache.getOrLoad({ ...history, kind: 'session' }, async () => 'session')).value).toBe('session');
    expect((await cache.getOrLoad({ ...history, params: { limit: '6' } }, async () => 'six')).value).toBe('six');
    expect((await cache.getOrLoad(history, async () => 'again')).value).toBe('alice');
  });

  it('loads once for concurrent look-ups of one key', async () => {
    const { cache, metrics } = setup();
    let loads = 0;
    const load = async (): Promise<string> => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'v';
    };
    const entries = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad(history, load)));
    expect(entries.every((entry) => entry.value === 'v')).toBe(true);
    expect(loads).toBe(1);
    expect((await metrics.cacheDbReads.get()).values.find((v) => v.labels.kind === 'history')?.value).toBe(1);
  });

  it('stores only what the caller accepts (a session of another owner is never stored)', async () => {
    const { cache } = setup();
    let loads = 0;
    const foreign = async (): Promise<{ ownerId: string }> => ({ ownerId: `mallory${(loads += 1)}` });
    const accept = (session: { ownerId: string }): boolean => session.ownerId === 'alice';
    await cache.getOrLoad({ ...history, kind: 'session' }, foreign, { accept });
    await cache.getOrLoad({ ...history, kind: 'session' }, foreign, { accept });
    expect(loads).toBe(2);
  });

  it('does not store a failed load', async () => {
    const { cache } = setup();
    await expect(cache.getOrLoad(history, () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect((await cache.getOrLoad(history, async () => 'ok')).value).toBe('ok');
  });

  it('always loads with CACHE_ENABLED=false', async () => {
    const { cache } = setup({ CACHE_ENABLED: 'false' });
    let loads = 0;
    await cache.getOrLoad(history, async () => (loads += 1));
    await cache.getOrLoad(history, async () => (loads += 1));
    expect(loads).toBe(2);
  });

  it('serves a value over CACHE_MAX_ENTRY_BYTES without storing it, and stores one at the cap', async () => {
    const { cache, metrics } = setup({ CACHE_MAX_ENTRY_BYTES: '2048' });
    let loads = 0;
    // JSON of a string: two quotes around it; é is two UTF-8 bytes, so the cap counts bytes.
    const large = 'é'.repeat(1024);
    const loadLarge = async (): Promise<string> => {
      loads += 1;
      return large;
    };
    const first = await cache.getOrLoad(history, loadLarge);
    expect(first.value).toBe(large);
    expect(first.json).toBe(JSON.stringify(large));
    expect((await cache.getOrLoad(history, loadLarge)).value).toBe(large);
    expect(loads).toBe(2);
    expect((await metrics.cacheBypasses.get()).values.find((v) => v.labels.reason === 'too_large')?.value).toBe(2);

    const atCap = 'x'.repeat(2046);
    const other = { ...history, params: { limit: '7' } };
    await cache.getOrLoad(other, async () => atCap);
    expect((await cache.getOrLoad(other, async () => 'reloaded')).value).toBe(atCap);
  });
});
