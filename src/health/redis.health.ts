import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RedisService } from '../redis/redis.service.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): Promise<HealthIndicatorResult<'redis'>> {
    return Promise.resolve(
      this.health
        .check('redis')
        .attempt(async () => {
          await this.redis.commands.ping();
        })
        .withTimeout(TIMEOUT_MS),
    );
  }
}
