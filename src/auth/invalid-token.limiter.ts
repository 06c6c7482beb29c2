import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import { SecurityEventsService } from '../access/security-events.service.js';
import { AppConfig } from '../config/app-config.js';
import { RedisThrottlerStorage } from '../throttle/redis-throttler.storage.js';

/** Clients of one IPv6 /64 share the count, as for the other per-IP limits. */
const IPV6_PREFIX = 64;

/**
 * Invalid and forged tokens per client IP, counted across every replica: each is a security
 * event `invalid_token`; past RATE_LIMIT_INVALID_TOKENS in a window, that IP's unknown tokens are
 * refused with 429 before any verification (a token this process already verified still passes).
 */
@Injectable()
export class InvalidTokenLimiter {
  private readonly store: RedisThrottlerStorage;

  constructor(
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly config: AppConfig,
    private readonly security: SecurityEventsService,
  ) {
    if (!(storage instanceof RedisThrottlerStorage)) {
      throw new Error('InvalidTokenLimiter needs RedisThrottlerStorage');
    }
    this.store = storage;
  }

  /** Seconds until the IP may present unknown tokens again, or undefined when it may now. */
  async blockedFor(ip: string): Promise<number | undefined> {
    const record = await this.store.peek(this.key(ip), this.config.limits.windowMs, this.limit);
    return record.totalHits >= record.limit ? Math.max(1, record.timeToExpire) : undefined;
  }

  async recordInvalid(ip: string, route: string | undefined): Promise<void> {
    this.security.record('invalid_token', { ip, route });
    await this.store.increment(this.key(ip), this.config.limits.windowMs, this.limit);
  }

  private get limit(): number {
    return this.config.limits.invalidTokensPerMinute;
  }

  private key(ip: string): string {
    return `invalid-tokens:ip:${normalizeIp(ip, IPV6_PREFIX)}`;
  }
}
