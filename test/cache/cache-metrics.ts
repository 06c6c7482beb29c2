import { http } from '../support/http.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';

export interface CacheCounters {
  memoryHits: number;
  redisHits: number;
  dbReads: Record<string, number>;
  fills: number;
  lockWaits: number;
  /** Observations of parley_lock_wait_seconds for the fill lock: one per wait. */
  lockWaitTimings: number;
  bypasses: number;
}

/** The cache counters of one app process. */
export async function cacheCounters(url: string): Promise<CacheCounters> {
  const response = await http('GET', `${url}/metrics`);
  const samples = parseMetrics(response.text);
  const kinds = ['history', 'session', 'sessions', 'memories'];
  return {
    memoryHits: valueOf(samples, 'parley_cache_requests_total', { tier: 'memory', result: 'hit' }),
    redisHits: valueOf(samples, 'parley_cache_requests_total', { tier: 'redis', result: 'hit' }),
    dbReads: Object.fromEntries(kinds.map((kind) => [kind, valueOf(samples, 'parley_cache_db_reads_total', { kind })])),
    fills: valueOf(samples, 'parley_cache_fills_total'),
    lockWaits: valueOf(samples, 'parley_cache_lock_waits_total'),
    lockWaitTimings: valueOf(samples, 'parley_lock_wait_seconds_count', { lock: 'cache-fill' }),
    bypasses: valueOf(samples, 'parley_cache_bypasses_total'),
  };
}

/** The counters summed over several processes. */
export async function clusterCounters(urls: readonly string[]): Promise<CacheCounters> {
  const all = await Promise.all(urls.map((url) => cacheCounters(url)));
  const sum = (pick: (c: CacheCounters) => number): number => all.reduce((total, c) => total + pick(c), 0);
  return {
    memoryHits: sum((c) => c.memoryHits),
    redisHits: sum((c) => c.redisHits),
    dbReads: Object.fromEntries(
      Object.keys(all[0]?.dbReads ?? {}).map((kind) => [kind, sum((c) => c.dbReads[kind] ?? 0)]),
    ),
    fills: sum((c) => c.fills),
    lockWaits: sum((c) => c.lockWaits),
    lockWaitTimings: sum((c) => c.lockWaitTimings),
    bypasses: sum((c) => c.bypasses),
  };
}
