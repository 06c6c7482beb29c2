import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSignalBus } from '../../src/coordination/redis-signal-bus.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { connectRedis } from '../support/redis-only.js';
import { eventually } from '../support/http.js';
import { PrivateRedis } from '../support/private-redis.js';
import { uniqueName } from '../support/services.js';

const logger = pino({ level: 'silent' });

/** A process's signal bus: its own Redis connections, as each app process has. */
async function busOn(redisUrl: string, prefix: string): Promise<{ bus: RedisSignalBus; redis: RedisService }> {
  const redis = await connectRedis(redisUrl, prefix);
  return { bus: new RedisSignalBus(redis, logger), redis };
}

describe('RedisSignalBus through a Redis restart', () => {
  const prefix = uniqueName('signals');
  let server: PrivateRedis;
  let listening: { bus: RedisSignalBus; redis: RedisService };
  let sending: { bus: RedisSignalBus; redis: RedisService };

  beforeAll(async () => {
    server = await PrivateRedis.start();
    listening = await busOn(server.url, prefix);
    sending = await busOn(server.url, prefix);
  });

  afterAll(async () => {
    await listening?.redis.onApplicationShutdown();
    await sending?.redis.onApplicationShutdown();
    await server?.stop();
  });

  it('listens again after Redis restarts, and says when it is back (signals sent meanwhile may be lost) so the record can be read', async () => {
    const received: string[] = [];
    let resumed = 0;
    let receivedWhenResumed: number | undefined;
    listening.bus.listen(
      'stop',
      (message) => received.push(message),
      () => {
        resumed += 1;
        receivedWhenResumed = received.length;
      },
    );
    // Subscribed once the first signal arrives: the subscription is asynchronous.
    await eventually(
      async () => {
        await sending.bus.signal('stop', 'before');
        return received.includes('before') ? true : undefined;
      },
      10_000,
      'a signal before the restart',
    );
    expect(resumed).toBe(0);

    await server.stop();
    await server.start();
    await eventually(async () => (resumed > 0 ? true : undefined), 10_000, 'listening resumed');
    expect(resumed).toBe(1);
    // From the moment `resumed` runs, no signal is lost: the first one sent after it arrives.
    const count = received.length;
    await eventually(async () => (sending.redis.available ? true : undefined), 10_000, 'the sender reconnected');
    await sending.bus.signal('stop', 'after');
    await eventually(
      async () => (received.includes('after') ? true : undefined),
      10_000,
      'the signal after the restart',
    );
    expect(received.slice(count)).toEqual(['after']);
    expect(receivedWhenResumed).toBe(count);
  });
});
