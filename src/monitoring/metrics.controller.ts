import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { bearerToken } from '../auth/bearer.util.js';
import { Public } from '../common/public.decorator.js';
import { withTimeout } from '../common/with-timeout.util.js';
import { AppConfig } from '../config/app-config.js';
import { QueueStats } from '../coordination/queue-stats.service.js';
import { RedisService } from '../redis/redis.service.js';
import { ActiveUsersService } from '../metrics/active-users.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** A scrape never waits longer than this on Redis or the queue: the last values stand meanwhile. */
const SCRAPE_READ_TIMEOUT_MS = 1000;

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Prometheus text from this app's own registry; METRICS_TOKEN, when set, is required. */
@ApiExcludeController()
@Public()
@Controller()
export class MetricsController extends PrometheusController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly activeUsers: ActiveUsersService,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly queues: QueueStats,
  ) {
    super();
  }

  @Get()
  override async index(
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('authorization') authorization?: string,
  ): Promise<string> {
    const token = this.config.metricsToken;
    if (token !== undefined && !sameToken(bearerToken(authorization) ?? '', token)) {
      throw new AuthException(AuthExceptionCode.InvalidToken);
    }
    await this.refreshGauges();
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }

  /** Values that live elsewhere (Redis, the queue) are read at scrape time; a failure leaves the last value. */
  private async refreshGauges(): Promise<void> {
    const redisUp = this.redis.enabled && this.redis.available;
    this.metrics.redisUp.set(redisUp ? 1 : 0);
    if (this.redis.enabled && !redisUp) {
      // Prometheus must still get its answer (parley_redis_up 0 is what the alert needs).
      return;
    }
    await Promise.all([
      withTimeout(this.activeUsers.count(), SCRAPE_READ_TIMEOUT_MS, 'active users').then(
        (n) => this.metrics.activeUsers.set(n),
        () => undefined,
      ),
      ...this.queues.names.map((queue) =>
        withTimeout(this.queues.counts(queue), SCRAPE_READ_TIMEOUT_MS, 'queue counts').then(
          (counts) => {
            for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
              this.metrics.queueJobs.set({ queue, state }, counts[state]);
            }
          },
          () => undefined,
        ),
      ),
    ]);
  }
}
