import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../common/public.decorator.js';
import { RedisService } from '../redis/redis.service.js';
import { LoadHealthIndicator } from '../throttle/load.health.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { EventLoopHealthIndicator } from './event-loop.health.js';
import { LifecycleHealthIndicator } from './lifecycle.health.js';
import { QueueHealthIndicator } from './queue.health.js';
import { RedisHealthIndicator } from './redis.health.js';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly redisIndicator: RedisHealthIndicator,
    private readonly queue: QueueHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly redis: RedisService,
    private readonly eventLoop: EventLoopHealthIndicator,
    private readonly load: LoadHealthIndicator,
  ) {}

  /** Checks no dependency: a dead database must not make the orchestrator restart every pod. */
  @Get('live')
  @ApiOperation({
    summary: 'Liveness probe',
    description:
      'Checks no dependency: 200 while the process can serve; 503 once its event loop stays stuck past LIVENESS_MAX_EVENT_LOOP_DELAY_MS.',
  })
  @HealthCheck()
  @ApiOkResponse({ description: 'The process can serve' })
  @ApiServiceUnavailableResponse({
    description: 'The event loop keeps stalling beyond LIVENESS_MAX_EVENT_LOOP_DELAY_MS',
  })
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.eventLoop.check()]);
  }

  /**
   * Fails only for what makes this pod unable to serve where another could: schema behind, the
   * database unreachable from this pod, shutting down. Redis, the queue and overload are reported
   * (`degraded` while impaired) and do not fail it.
   */
  @Get('ready')
  @ApiOperation({
    summary: 'Readiness probe',
    description:
      'This pod only: startup done, schema current, the database reachable, not shutting down. Redis and the queue are reported, not gating.',
  })
  @HealthCheck()
  @ApiOkResponse({
    description:
      'Schema current, the database reachable from this pod, not shutting down; Redis, the queue and load reported (degraded while impaired)',
  })
  @ApiServiceUnavailableResponse({ description: 'Terminus JSON naming what failed' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.lifecycle.check(),
      () => this.database.migrations(),
      () => this.database.check(),
      () => this.load.check(),
      ...(this.redis.enabled ? [() => this.redisIndicator.check()] : []),
      () => this.queue.check(),
    ]);
  }

  @Get('startup')
  @ApiOperation({
    summary: 'Startup probe',
    description: '200 once migrations ran and connections opened; 503 naming migrations while the schema is behind.',
  })
  @HealthCheck()
  @ApiOkResponse({ description: 'Migrations applied and connections opened' })
  @ApiServiceUnavailableResponse({ description: 'Schema behind: Terminus JSON naming migrations' })
  startup(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.migrations()]);
  }
}
