import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { RedisService } from '../redis/redis.service.js';

const WINDOW_MS = 60_000;
const FLUSH_MS = 1000;

/**
 * Distinct users of the current minute across every replica: a Redis HyperLogLog per window
 * (PFADD batched once a second, PFCOUNT on scrape). Without Redis (one process) a local set.
 */
@Injectable()
export class ActiveUsersService implements OnApplicationShutdown {
  private pending = new Set<string>();
  private local = { window: 0, users: new Set<string>() };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  seen(userId: string): void {
    if (this.redis.enabled) {
      this.pending.add(userId);
      return;
    }
    const window = this.window();
    if (this.local.window !== window) {
      this.local = { window, users: new Set() };
    }
    this.local.users.add(userId);
  }

  async count(): Promise<number> {
    if (!this.redis.enabled) {
      return this.local.window === this.window() ? this.local.users.size : 0;
    }
    await this.flush();
    return this.redis.commands.pfcount(this.key(this.window()));
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) {
      return;
    }
    const users = [...this.pending];
    this.pending = new Set();
    const key = this.key(this.window());
    try {
      await this.redis.commands.multi().pfadd(key, ...users).pexpire(key, 3 * WINDOW_MS).exec();
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'active users not recorded (Redis unavailable)');
    }
  }

  private window(): number {
    return Math.floor(Date.now() / WINDOW_MS);
  }

  private key(window: number): string {
    return this.redis.key('active-users', window);
  }
}
