import { Module } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import { PINO_LOGGER } from '../common/logger.module.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { CacheKeyBuilder } from './cache-key.builder.js';
import { CacheInterceptor } from './cache.interceptor.js';
import { CacheService } from './cache.service.js';
import { LocalVersionStore } from './local-version.store.js';
import { MemoryCacheTier } from './memory-cache.tier.js';
import { RedisCacheTier } from './redis-cache.tier.js';
import { RedisVersionStore } from './redis-version.store.js';
import { VersionBumpNotifier } from './version-bump.notifier.js';
import { VersionBumpRelay } from './version-bump.relay.js';
import { VersionStore } from './version-store.js';

/**
 * The two-tier cache and the ChangeNotifier that keeps it honest. With Redis, versions and the
 * shared tier live there; without (embedded mode, one process) versions are the process's own.
 * Writes bump versions even when CACHE_ENABLED=false, so replicas configured differently during a
 * rollout never serve each other stale entries.
 */
@Module({
  providers: [
    {
      provide: CacheKeyBuilder,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new CacheKeyBuilder(config.redis.keyPrefix),
    },
    {
      provide: MemoryCacheTier,
      inject: [AppConfig, MetricsService],
      useFactory: (config: AppConfig, metrics: MetricsService) =>
        new MemoryCacheTier({
          maxEntries: config.cache.size,
          maxBytes: config.cache.maxBytes,
          ttlMs: config.cache.ttlSeconds * 1000,
          onEvict: () => metrics.cacheEvictions.inc(),
        }),
    },
    {
      // Only where other replicas may exist: PostgreSQL and Redis both configured.
      provide: VersionBumpRelay,
      inject: [AppConfig, RedisService, MetricsService, PINO_LOGGER],
      useFactory: (config: AppConfig, redis: RedisService, metrics: MetricsService, logger: Logger) =>
        // LISTEN holds a session: on the direct connection, never through PgBouncer in transaction mode.
        config.database.directUrl !== undefined && redis.enabled
          ? new VersionBumpRelay(config.database.directUrl, logger, metrics)
          : null,
    },
    {
      provide: VersionStore,
      inject: [
        RedisService,
        CacheKeyBuilder,
        MemoryCacheTier,
        MetricsService,
        PINO_LOGGER,
        VersionBumpRelay,
        AppConfig,
      ],
      useFactory: (
        redis: RedisService,
        keys: CacheKeyBuilder,
        memory: MemoryCacheTier,
        metrics: MetricsService,
        logger: Logger,
        relay: VersionBumpRelay | null,
        config: AppConfig,
      ): VersionStore => {
        if (!redis.enabled) {
          return new LocalVersionStore();
        }
        // A new epoch makes every entry unreachable: drop them at once rather than let them age out.
        const store = new RedisVersionStore(
          redis,
          keys,
          logger,
          () => {
            memory.clear();
            metrics.cacheEntries.set(0);
            metrics.cacheBytes.set(0);
          },
          relay,
          config.cache.redisTimeoutMs,
        );
        store.start();
        return store;
      },
    },
    {
      provide: CacheService,
      inject: [AppConfig, CacheKeyBuilder, VersionStore, MemoryCacheTier, RedisService, MetricsService, ClsService],
      useFactory: (
        config: AppConfig,
        keys: CacheKeyBuilder,
        versions: VersionStore,
        memory: MemoryCacheTier,
        redis: RedisService,
        metrics: MetricsService,
        cls: ClsService<ParleyClsStore>,
      ) =>
        new CacheService(
          config,
          keys,
          versions,
          memory,
          redis.enabled ? new RedisCacheTier(redis, config.cache.redisTimeoutMs) : null,
          metrics,
          cls,
        ),
    },
    {
      provide: ChangeNotifier,
      inject: [VersionStore],
      useFactory: (versions: VersionStore) => new VersionBumpNotifier(versions),
    },
    CacheInterceptor,
  ],
  exports: [CacheService, CacheInterceptor, ChangeNotifier],
})
export class CacheModule {}
