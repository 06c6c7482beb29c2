import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RedisService } from '../redis/redis.service.js';
import { degradedWhenDown } from './degraded.util.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly health: HealthIndicatorService,
  ) {}

  /** `degraded` (never `down`) while Redis does not answer: Parley serves reads and sends without it. */
  check(): Promise<HealthIndicatorResult<'redis'>> {
    return degradedWhenDown(
      this.health,
      'redis',
      this.health
        .check('redis')
        .attempt(async () => {
          await this.redis.commands.ping();
        })
        .withTimeout(TIMEOUT_MS),
    );
  }
}
