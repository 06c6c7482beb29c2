import { describe, expect, it } from 'vitest';
import { newSession } from '../support/api.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';
import { clusterCounters } from './cache-metrics.js';

const READS = 200;

describe('single-flight fills across 3 processes', () => {
  // Generous bounds: on a loaded machine a fill, or one Redis call of a request queued behind 200
  // others, may take longer than the defaults, and falling through to the database past them is
  // correct by design but not what this file is about. A version read past CACHE_REDIS_TIMEOUT_MS
  // is the one fall-through taken per request rather than per process (each such request reads
  // the database), which is how a busy 2-core machine saw 16 database reads for 200 requests.
  const fx = withCluster(3, {
    CACHE_LOCK_WAIT_MS: '15000',
    CACHE_LOCK_TTL_MS: '30000',
    CACHE_REDIS_TIMEOUT_MS: '15000',
  });

  it('asks the database at most twice for 200 concurrent cold reads of one history', async () => {
    const { cluster } = fx;
    const token = await tokenFor(uniqueName('cold'));
    const session = await http('POST', `${cluster.url(0)}/v1/sessions`, { token, body: { title: 'cold' } });
    const base = `/v1/sessions/${session.body.id}`;
    for (let i = 0; i < 3; i += 1) {
      expect(
        (await http('POST', `${cluster.url(i)}${base}/messages`, { token, body: { content: `q${i}` } })).status,
      ).toBe(202);
    }
    await eventually(async () => {
      const page = await http('GET', `${cluster.url(0)}${base}/messages`, { token });
      return page.body.items.length === 6 && page.body.items.every((m: any) => m.status === 'complete')
        ? true
        : undefined;
    });
    // A rename moves the session's version: nothing is cached for the new one anywhere.
    expect((await http('PATCH', `${cluster.url(1)}${base}`, { token, body: { title: 'cold again' } })).status).toBe(
      200,
    );

    const before = await clusterCounters(cluster.urls);
    const reads = await Promise.all(
      Array.from({ length: READS }, (_, i) => http('GET', `${cluster.url(i)}${base}/messages?limit=20`, { token })),
    );
    const after = await clusterCounters(cluster.urls);

    expect(reads.map((r) => r.status)).toEqual(Array.from({ length: READS }, () => 200));
    expect(new Set(reads.map((r) => r.text)).size).toBe(1);
    expect(reads[0]?.body.items).toHaveLength(6);
    expect(after.dbReads.history! - before.dbReads.history!).toBeGreaterThanOrEqual(1);
    expect(after.dbReads.history! - before.dbReads.history!).toBeLessThanOrEqual(2);
    // The ownership look-up of the same 200 requests is single-flight too.
    expect(after.dbReads.session! - before.dbReads.session!).toBeLessThanOrEqual(2);
    expect(after.bypasses - before.bypasses).toBe(0);
    // Every wait for another replica's fill is both counted and timed.
    expect(after.lockWaitTimings - before.lockWaitTimings).toBe(after.lockWaits - before.lockWaits);

    // The admin statistics report the same cache, per process.
    const admin = await tokenFor(uniqueName('admin'), { roles: ['admin'] });
    const stats = await http('GET', `${cluster.url(0)}/v1/admin/stats`, { token: admin });
    expect(stats.status).toBe(200);
    expect(stats.body.cache.size).toBeGreaterThan(0);
    expect(stats.body.cache.hits).toBeGreaterThan(0);
    expect(stats.body.cache.hitRate).toBeGreaterThan(0);
    expect(stats.body.cache.maxSize).toBe(10_000);
  });

  it('answers a matching If-None-Match with 304 on any process, and a changed history with 200', async () => {
    const { cluster } = fx;
    const token = await tokenFor(uniqueName('etag'));
    const path = `/v1/sessions/${await newSession(cluster.url(0), { token })}/messages`;
    const first = await http('GET', `${cluster.url(0)}${path}`, { token });
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^W\/".+"$/);
    for (let i = 0; i < 3; i += 1) {
      const again = await http('GET', `${cluster.url(i)}${path}`, {
        token,
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
    }
    await http('POST', `${cluster.url(1)}${path}`, { token, body: { content: 'changes the history' } });
    const changed = await http('GET', `${cluster.url(2)}${path}`, {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.body.items[0].content).toBe('changes the history');
  });
});
