import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheKeyBuilder, type VersionCounter } from '../../src/cache/cache-key.builder.js';
import { RedisVersionStore } from '../../src/cache/redis-version.store.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { connectRedis } from '../support/redis-only.js';
import { eventually } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { uniqueName } from '../support/services.js';

const counter: VersionCounter = { scope: 'session', id: '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10' };
const logger = pino({ level: 'silent' });

interface Replica {
  redis: RedisService;
  store: RedisVersionStore;
  epochsMoved: number;
}

/** One replica's view of the versions: its own connections to the private Redis. */
async function replica(url: string, prefix: string): Promise<Replica> {
  const redis = await connectRedis(url, prefix);
  const self: Replica = { redis, store: undefined as unknown as RedisVersionStore, epochsMoved: 0 };
  self.store = new RedisVersionStore(redis, new CacheKeyBuilder(prefix), logger, () => (self.epochsMoved += 1));
  self.store.start();
  await eventually(async () => (self.store.isTrusted ? true : undefined), 10_000, 'trust');
  return self;
}

async function version(r: Replica): Promise<string> {
  const versions = await r.store.read([counter]);
  if (versions === null) {
    throw new Error('no version');
  }
  return versions[0] as string;
}

describe('version store: nothing filled before an outage or a lost bump is found again', () => {
  let server: PrivateRedis;
  let a: Replica;
  let b: Replica;
  let keys: CacheKeyBuilder;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    const prefix = uniqueName('v');
    keys = new CacheKeyBuilder(prefix);
    [a, b] = [await replica(server.url, prefix), await replica(server.url, prefix)];
  });

  afterAll(async () => {
    await a?.redis.onApplicationShutdown();
    await b?.redis.onApplicationShutdown();
    await server?.stop();
  });

  it('shares versions between replicas and moves them on a bump', async () => {
    const before = await version(a);
    expect(await version(b)).toBe(before);
    await a.store.bump([counter]);
    const after = await version(b);
    expect(after).not.toBe(before);
    expect(await version(a)).toBe(after);
  });

  it('starts a missing counter at a random value, never at 1, and lets idle counters expire', async () => {
    const read = { scope: 'sessions' as const, id: uniqueName('owner') };
    const versions = await a.store.read([read]);
    expect(Number(versions?.[0]?.split('.')[1])).toBeGreaterThan(1);
    const bumped = { scope: 'memories' as const, id: uniqueName('owner') };
    await a.store.bump([bumped]);
    expect(Number((await a.store.read([bumped]))?.[0]?.split('.')[1])).toBeGreaterThan(2);
    for (const c of [read, bumped]) {
      expect(await a.redis.commands.pttl(keys.counter(c))).toBeGreaterThan(0);
    }
  });

  it('steps aside while Redis is down and comes back with versions never seen before, even from an empty Redis', async () => {
    const before = await version(a);
    await server.stop();
    await eventually(
      async () => ((await a.store.read([counter])) === null ? true : undefined),
      5000,
      'a to step aside',
    );
    // A write while Redis is down: the bump cannot happen, and must neither throw nor hang.
    await a.store.bump([counter]);
    expect(await b.store.read([counter])).toBeNull();
    await server.start();
    await eventually(async () => (a.store.isTrusted && b.store.isTrusted ? true : undefined), 15_000, 'trust again');
    const after = await version(b);
    expect(after).not.toBe(before);
    expect(await version(a)).toBe(after);
    expect(a.epochsMoved).toBeGreaterThanOrEqual(2);
  });

  it('moves the epoch when a bump is lost on a live Redis, before the write is answered', async () => {
    const before = await version(b);
    const control = new Redis(server.url);
    const aId = await a.redis.commands.client('ID');
    // Writes are held; A's bump waits in Redis, then A's connection is killed: the bump is lost.
    await control.client('PAUSE', 1200, 'WRITE');
    const bump = a.store.bump([counter]);
    await sleep(300);
    await control.client('KILL', 'ID', String(aId));
    await bump;
    // B never lost its connection; A's write is answered now: B must not see the old version.
    const after = await version(b);
    expect(after).not.toBe(before);
    control.disconnect();
  });
});
