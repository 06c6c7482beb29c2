import { Injectable } from '@nestjs/common';
import { REPLIES_QUEUE } from '../replies/replies.constants.js';
import { CacheService } from '../cache/cache.service.js';
import { AppConfig } from '../config/app-config.js';
import { QueueStats } from '../coordination/queue-stats.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RequestStatsService } from '../metrics/request-stats.service.js';
import { RedisService } from '../redis/redis.service.js';
import type { AdminStatsResponseDto, CacheStatsDto } from './admin.dto.js';

const NO_QUEUE = { waiting: 0, active: 0, delayed: 0, failed: 0 };

@Injectable()
export class AdminStatsService {
  constructor(
    private readonly metrics: MetricsService,
    private readonly requests: RequestStatsService,
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly queues: QueueStats,
  ) {}

  async stats(): Promise<AdminStatsResponseDto> {
    const [cache, queue] = await Promise.all([
      this.cacheStats(),
      this.queues.counts(REPLIES_QUEUE).catch(() => NO_QUEUE),
    ]);
    return {
      cache,
      performance: this.requests.snapshot(),
      redis: { available: this.redis.enabled && this.redis.available },
      queue,
    };
  }

  /**
   * From the cache counters: a hit is a look-up answered by either tier; a miss is one that the
   * in-process tier missed and Redis did not answer (it was filled, or waited for another filler).
   */
  private async cacheStats(): Promise<CacheStatsDto> {
    const lookups = (await this.metrics.cacheRequests.get()).values;
    const count = (tier: string, result: string): number =>
      lookups.filter((v) => v.labels.tier === tier && v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
    const hits = count('memory', 'hit') + count('redis', 'hit');
    const misses = Math.max(0, count('memory', 'miss') - count('redis', 'hit'));
    return {
      size: this.cache.memorySize,
      maxSize: this.config.cache.size,
      hits,
      misses,
      hitRate: hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 1000) / 1000,
    };
  }
}
