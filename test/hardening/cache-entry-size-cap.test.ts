import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';
import { cacheCounters } from '../cache/cache-metrics.js';

const MESSAGES = 2000;
const CONTENT_LENGTH = 8000;
const PAGES = 30;
const CAP = 256 * 1024;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/**
 * One user could fill the shared Redis through the cache: history pages of a long session
 * (1.65 MB each at limit=200) were all stored, one per beforeSeq. Values over
 * CACHE_MAX_ENTRY_BYTES are served but never stored, in either tier.
 */
describe('one user fills the shared Redis through the cache (cache entry size cap)', () => {
  const fx = withCluster(1, { CACHE_MAX_ENTRY_BYTES: String(CAP) }, { privateRedis: true });
  let redis: Redis;
  let token: string;
  let sessionId: string;

  beforeAll(async () => {
    redis = new Redis(fx.redis.url);
    const owner = uniqueName('owner');
    token = await tokenFor(owner);
    const created = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: 'long' } });
    sessionId = created.body.id as string;
    // 1000 exchanges of long messages, written directly: the API would take minutes to make them.
    await fx.db.query(
      `INSERT INTO messages (id, session_id, owner_id, seq, role, content, status)
       SELECT $1::uuid, $2::uuid, $3, 1, 'user', repeat('u', $4), 'complete'`,
      [randomUUID(), sessionId, owner, CONTENT_LENGTH],
    );
    await fx.db.query(
      `WITH RECURSIVE chain(seq) AS (SELECT 2 UNION ALL SELECT seq + 1 FROM chain WHERE seq < $4)
       INSERT INTO messages (id, session_id, owner_id, seq, role, content, status, reply_to)
       SELECT gen_random_uuid(), $1::uuid, $2, seq, 'user', repeat('m', $3), 'complete', NULL FROM chain`,
      [sessionId, owner, CONTENT_LENGTH, MESSAGES],
    );
    // One linear branch, as the send transaction links it: each message follows the one before.
    await fx.db.query(
      'UPDATE messages m SET parent_id = p.id FROM messages p WHERE m.session_id = $1 AND p.session_id = $1 AND p.seq = m.seq - 1',
      [sessionId],
    );
    await fx.db.query('UPDATE sessions SET last_seq = $2, message_count = $2 WHERE id = $1', [sessionId, MESSAGES]);
  });

  afterAll(() => {
    redis?.disconnect();
  });

  it(`${PAGES} pages of 200 long messages raise Redis memory by less than the cap times the entries`, async () => {
    const before = await usedMemory(redis);
    for (let page = 0; page < PAGES; page += 1) {
      const beforeSeq = MESSAGES + 1 - page * 50;
      const response = await http(
        'GET',
        `${fx.app.url}/v1/sessions/${sessionId}/messages?limit=200&beforeSeq=${beforeSeq}`,
        { token },
      );
      expect(response.status).toBe(200);
      expect(response.body.items).toHaveLength(200);
      expect(response.text.length).toBeGreaterThan(CAP);
      expect(response.headers.get('etag')).toMatch(/^W\/"/);
    }
    const grown = (await usedMemory(redis)) - before;
    expect(grown).toBeLessThan(PAGES * CAP);
    // Nothing of these pages is stored at all: far less than a single page.
    expect(grown).toBeLessThan(CAP);
    expect(await redis.keys('*:cache:d:history:*')).toEqual([]);
  });

  it('still caches a page under the cap', async () => {
    const url = `${fx.app.url}/v1/sessions/${sessionId}/messages?limit=5`;
    expect((await http('GET', url, { token })).status).toBe(200);
    const first = await cacheCounters(fx.app.url);
    const again = await http('GET', url, { token });
    expect(again.status).toBe(200);
    expect(again.body.items).toHaveLength(5);
    const second = await cacheCounters(fx.app.url);
    expect(second.dbReads.history).toBe(first.dbReads.history);
    expect((await redis.keys('*:cache:d:history:*')).length).toBe(1);
  });
});
