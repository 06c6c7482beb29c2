import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import type { RedisService } from '../redis/redis.service.js';
import { ActiveUsersService } from './active-users.service.js';

describe('ActiveUsersService (one process, no Redis)', () => {
  let service: ActiveUsersService;

  beforeEach(() => {
    vi.useFakeTimers();
    service = new ActiveUsersService({ enabled: false } as RedisService, {} as Logger);
  });

  afterEach(() => {
    service.onApplicationShutdown();
    vi.useRealTimers();
  });

  it('still counts the users of the last seconds of a minute once the next minute has begun', async () => {
    vi.setSystemTime(new Date('2026-01-01T10:00:59.500Z'));
    for (const user of ['a', 'b', 'c', 'a']) {
      service.seen(user);
    }
    vi.setSystemTime(new Date('2026-01-01T10:01:00.500Z'));
    expect(await service.count()).toBe(3);
  });

  it('counts a user for a minute after their request, and not after', async () => {
    vi.setSystemTime(new Date('2026-01-01T10:00:05.000Z'));
    service.seen('early');
    vi.setSystemTime(new Date('2026-01-01T10:00:40.000Z'));
    service.seen('late');
    vi.setSystemTime(new Date('2026-01-01T10:00:59.000Z'));
    expect(await service.count()).toBe(2);
    vi.setSystemTime(new Date('2026-01-01T10:01:10.000Z'));
    expect(await service.count()).toBe(1);
    vi.setSystemTime(new Date('2026-01-01T10:01:50.000Z'));
    expect(await service.count()).toBe(0);
  });
});
