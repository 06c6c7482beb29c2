import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionCounter } from '../../src/cache/cache-key.builder.js';
import { VersionBumpRelay } from '../../src/cache/version-bump.relay.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { eventually } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

const logger = pino({ level: 'silent' });
const counters: VersionCounter[] = [
  { scope: 'session', id: '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10' },
  { scope: 'sessions', id: 'alice' },
];

interface Replica {
  relay: VersionBumpRelay;
  metrics: MetricsService;
  applied: VersionCounter[][];
  /** Whether this replica "reaches Redis", i.e. confirms what it is sent. */
  reachesRedis: boolean;
}

async function relayed(metrics: MetricsService, outcome: string): Promise<number> {
  const value = (await metrics.cacheBumpRelays.get()).values.find((v) => v.labels.outcome === outcome);
  return value?.value ?? 0;
}

describe('version bumps relayed through PostgreSQL (LISTEN/NOTIFY)', () => {
  let db: TestDatabase;
  const replicas: Replica[] = [];

  async function replica(reachesRedis: boolean): Promise<Replica> {
    const metrics = new MetricsService();
    const self: Replica = { relay: new VersionBumpRelay(db.url, logger, metrics), metrics, applied: [], reachesRedis };
    self.relay.start(async (bumped) => {
      if (!self.reachesRedis) {
        return false;
      }
      self.applied.push([...bumped]);
      return true;
    });
    replicas.push(self);
    await eventually(
      async () => {
        const rows = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parley' AND query LIKE 'LISTEN%'",
          [db.name],
        );
        return (rows[0]?.n ?? 0) >= replicas.length ? true : undefined;
      },
      10_000,
      'listeners',
    );
    return self;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.relay.onApplicationShutdown()));
    await db?.drop();
  });

  it('is applied by a replica that reaches Redis and confirmed to the sender, never applied by the sender', async () => {
    const cut = await replica(false);
    const connected = await replica(true);
    const alsoCut = await replica(false);

    await cut.relay.relay(counters);
    expect(connected.applied).toEqual([counters]);
    expect(cut.applied).toEqual([]);
    expect(alsoCut.applied).toEqual([]);
    expect(await relayed(cut.metrics, 'confirmed')).toBe(1);
    expect(await relayed(connected.metrics, 'applied')).toBe(1);
  });

  it('ignores payloads that are not bumps', async () => {
    const listener = replicas.find((r) => r.reachesRedis) as Replica;
    const before = listener.applied.length;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    for (const payload of [
      'not json',
      '{"id":"x","from":"y","counters":[{"scope":"everything","id":"*"}]}',
      '{"id":"x"}',
    ]) {
      await client.query('SELECT pg_notify($1, $2)', ['parley_cache_bump', payload]);
    }
    await client.end();
    const sender = replicas[0] as Replica;
    await sender.relay.relay(counters);
    expect(listener.applied.length).toBe(before + 1);
  });

  it('gives up after one unconfirmed wait when no replica reaches Redis, and stops waiting for a while', async () => {
    for (const r of replicas) {
      r.reachesRedis = false;
    }
    const sender = replicas[0] as Replica;
    let started = Date.now();
    await sender.relay.relay(counters);
    const firstWait = Date.now() - started;
    started = Date.now();
    await sender.relay.relay(counters);
    const secondWait = Date.now() - started;
    expect(await relayed(sender.metrics, 'unconfirmed')).toBe(2);
    // The first relay waited out its bound; the second, inside the quiet period, did not wait for it.
    expect(firstWait).toBeGreaterThanOrEqual(900);
    expect(secondWait).toBeLessThan(firstWait);
  });
});
