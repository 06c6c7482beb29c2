import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CommonModule } from '../common/common.module.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { EventLoopHealthIndicator } from './event-loop.health.js';
import { HealthController } from './health.controller.js';
import { LifecycleHealthIndicator } from './lifecycle.health.js';
import { QueueHealthIndicator } from './queue.health.js';
import { LoadHealthIndicator } from '../throttle/load.health.js';
import { RedisHealthIndicator } from './redis.health.js';

@Module({
  imports: [CommonModule, TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [
    LoadHealthIndicator,
    EventLoopHealthIndicator,
    DatabaseHealthIndicator,
    RedisHealthIndicator,
    QueueHealthIndicator,
    LifecycleHealthIndicator,
  ],
})
export class HealthModule {}
