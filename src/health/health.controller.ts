import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
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
  @HealthCheck()
  @ApiOkResponse({ description: 'The process can serve' })
  @ApiServiceUnavailableResponse({ description: 'The event loop keeps stalling beyond LIVENESS_MAX_EVENT_LOOP_DELAY_MS' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.eventLoop.check()]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOkResponse({ description: 'Dependencies reachable, migrations applied, not shutting down' })
  @ApiServiceUnavailableResponse({ description: 'Terminus JSON naming what failed' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.lifecycle.check(),
      () => this.load.check(),
      () => this.database.check(),
      () => this.database.migrations(),
      ...(this.redis.enabled ? [() => this.redisIndicator.check()] : []),
      () => this.queue.check(),
    ]);
  }

  @Get('startup')
  @HealthCheck()
  @ApiOkResponse({ description: 'Migrations ran and connections opened' })
  startup(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.migrations()]);
  }
}
