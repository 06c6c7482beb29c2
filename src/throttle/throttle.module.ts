import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { CacheModule } from '../cache/cache.module.js';
import { RedisService } from '../redis/redis.service.js';
import { ParleyThrottlerGuard } from './parley-throttler.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * The three named limits of the contract, each over RATE_LIMIT_WINDOW_MS (a minute by default).
 * A route is under the one its @RateLimit() names (ParleyThrottlerGuard picks it by name).
 */
export function throttlerOptions(config: AppConfig, storage: RedisThrottlerStorage): ThrottlerModuleOptions {
  const ttl = config.limits.windowMs;
  return {
    storage,
    errorMessage: 'Too many requests; retry after the time in Retry-After',
    throttlers: [
      { name: 'sends', limit: config.limits.sendsPerMinute, ttl },
      { name: 'reads', limit: config.limits.readsPerMinute, ttl },
      { name: 'dev-tokens', limit: config.limits.devTokensPerMinute, ttl },
    ],
  };
}

/**
 * Registered after AuthModule, so its guard runs after the auth guard and sees the verified user.
 * `retryDetectorFrom` is the module that exports the SendRetryDetector (messages): the app names
 * it, so that throttle depends on no feature and the guard gets its detector by injection.
 */
@Module({})
export class ThrottleModule {
  static forRoot(options: { retryDetectorFrom: NonNullable<ModuleMetadata['imports']>[number] }): DynamicModule {
    return {
      module: ThrottleModule,
      imports: [
        options.retryDetectorFrom,
        CacheModule,
        ThrottlerModule.forRootAsync({
          inject: [AppConfig, RedisService, PINO_LOGGER],
          useFactory: (config: AppConfig, redis: RedisService, logger: Logger) =>
            throttlerOptions(config, new RedisThrottlerStorage(redis, config, logger)),
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: ParleyThrottlerGuard }],
    };
  }
}
