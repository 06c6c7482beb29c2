import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { RedisService } from '../redis/redis.service.js';

/** A user counts as active for a minute after a request. */
const WINDOW_MS = 60_000;
const FLUSH_MS = 1000;

/**
 * Distinct users of the last minute across every replica, counted exactly: one Redis sorted set of
 * user ids scored by the time each was last seen (ZADD GT batched once a second, older entries
 * trimmed at each batch), and on scrape the ZCOUNT of the last minute. Two earlier designs made the
 * gauge wrong: a fixed calendar minute fell to zero at the start of every minute, however many
 * users were active a second before, and a HyperLogLog undercounts a few percent of small sets
 * (two ids in one register). Without Redis (one process) the same map in memory.
 */
@Injectable()
export class ActiveUsersService implements OnApplicationShutdown {
  /** Users seen and not yet written to Redis, with the time each was last seen. */
  private pending = new Map<string, number>();
  /** Without Redis: every user of the last minute, with the time each was last seen. */
  private readonly local = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  seen(userId: string): void {
    const now = Date.now();
    if (this.redis.enabled) {
      this.pending.set(userId, now);
      return;
    }
    // Re-inserted, so that the map stays ordered by last sight and the trim stops at the first recent one.
    this.local.delete(userId);
    this.local.set(userId, now);
    this.trimLocal(now);
  }

  async count(): Promise<number> {
    const since = Date.now() - WINDOW_MS;
    if (!this.redis.enabled) {
      this.trimLocal(Date.now());
      return this.local.size;
    }
    await this.flush();
    return this.redis.commands.zcount(this.key(), since, '+inf');
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) {
      return;
    }
    const pending = this.pending;
    this.pending = new Map();
    const scored = [...pending].flatMap(([userId, seenAt]) => [seenAt, userId]);
    const key = this.key();
    try {
      await this.redis.commands
        .multi()
        .zadd(key, 'GT', ...scored)
        .zremrangebyscore(key, '-inf', `(${Date.now() - WINDOW_MS}`)
        .pexpire(key, 2 * WINDOW_MS)
        .exec();
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'active users not recorded (Redis unavailable)');
    }
  }

  private trimLocal(now: number): void {
    for (const [userId, seenAt] of this.local) {
      if (seenAt >= now - WINDOW_MS) {
        return;
      }
      this.local.delete(userId);
    }
  }

  private key(): string {
    return this.redis.key('active-users');
  }
}
