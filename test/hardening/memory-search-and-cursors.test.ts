import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { websearchQuery } from '../../src/common/websearch-query.util.js';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const MEMORIES = 250;

describe('memories: searches PostgreSQL cannot reject, cursors past 100', () => {
  const fx = withCluster(1);
  let ownerId: string;
  let token: string;

  beforeAll(async () => {
    ownerId = uniqueName('keeper');
    token = await tokenFor(ownerId);
    // Distinct creation times, newest = the highest number; every tenth one mentions Lisbon.
    await fx.db.query(
      `INSERT INTO memories (id, owner_id, content, source, created_at)
       SELECT gen_random_uuid(), $1, 'memory ' || i || CASE WHEN i % 10 = 0 THEN ' about Lisbon' ELSE '' END, 'user',
              timestamptz '2026-01-01' + i * interval '1 second'
       FROM generate_series(1, $2::int) i`,
      [ownerId, MEMORIES],
    );
  });

  const list = (query: string) => http('GET', `${fx.app.url}/v1/memories${query}`, { token });

  it.each([33, 40, 240].map((n) => [n]))(
    'GET /v1/memories?q= followed by %i "-" answers 200, not 500 (tsquery stack too small)',
    async (n) => {
      for (const q of [
        '-'.repeat(n),
        `lisbon${'-'.repeat(n)}`,
        `${'-'.repeat(n)}lisbon`,
        `"${'-'.repeat(n)}"`,
        '- '.repeat(n),
      ]) {
        const response = await list(`?q=${encodeURIComponent(q)}`);
        expect(response.status, q.slice(0, 50)).toBe(200);
      }
    },
  );

  it('GET /v1/search (messages) takes the same hostile queries without a 500', async () => {
    for (const q of [
      '-'.repeat(40),
      `${'-'.repeat(40)}lisbon`,
      `lisbon${'-'.repeat(40)}`,
      '"'.repeat(41),
      '- '.repeat(100),
    ]) {
      const response = await http('GET', `${fx.app.url}/v1/search?q=${encodeURIComponent(q)}`, { token });
      expect(response.status, q.slice(0, 50)).toBe(200);
    }
  });

  it('the query built from any search box input is accepted by PostgreSQL', async () => {
    const piece = fc.constantFrom(
      '-',
      '"',
      ' ',
      'or',
      'OR',
      '|',
      '&',
      '!',
      '(',
      ')',
      ':',
      '*',
      "'",
      '\\',
      '<->',
      '<2>',
      'a',
      'lisbon',
      'é',
      '日本',
      '-a',
      '"a b',
      'the',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 400 }).map((parts) => parts.join('')),
        async (q) => {
          await fx.db.query(`SELECT websearch_to_tsquery('english'::regconfig, $1)`, [websearchQuery(q)]);
        },
      ),
      { numRuns: 1500, seed: Number(process.env.FUZZ_SEED ?? 0x5ea7c4), verbose: true },
    );
  });

  it('pages every memory of a user past 100 with nextCursor, newest first, and searches page too', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await list(`?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(response.status).toBe(200);
      seen.push(...response.body.items.map((m: any) => m.content as string));
      cursor = response.body.nextCursor as string | null;
    } while (cursor !== null);
    expect(seen).toHaveLength(MEMORIES);
    expect(seen.map((content) => Number(/memory (\d+)/.exec(content)?.[1]))).toEqual(
      Array.from({ length: MEMORIES }, (_, i) => MEMORIES - i),
    );

    const found: string[] = [];
    let next: string | null = null;
    do {
      const response = await list(`?q=lisbon&limit=7${next === null ? '' : `&cursor=${next}`}`);
      expect(response.status).toBe(200);
      found.push(...response.body.items.map((m: any) => m.content as string));
      next = response.body.nextCursor as string | null;
    } while (next !== null);
    expect(new Set(found).size).toBe(MEMORIES / 10);
    expect(found.every((content) => content.endsWith('about Lisbon'))).toBe(true);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['a search cursor without q', Buffer.from(JSON.stringify(['s', 100])).toString('base64url')],
    ['a non-UUID id', Buffer.from(JSON.stringify(['r', 1767225600000, 'x'.repeat(36)])).toString('base64url')],
    [
      'a time out of range',
      Buffer.from(JSON.stringify(['r', 9e15, '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10'])).toString('base64url'),
    ],
  ])('a memory cursor with %s: 400 invalid_cursor', async (_what, cursor) => {
    const response = await list(`?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'invalid_cursor', requestId: expect.any(String) });
  });
});
