import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REPLIES_QUEUE } from '../replies/replies.constants.js';
import { QueueStats } from '../coordination/queue-stats.service.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly queues: QueueStats,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): Promise<HealthIndicatorResult<'queue'>> {
    return Promise.resolve(
      this.health
        .check('queue')
        .attempt(async () => ({ ...(await this.queues.counts(REPLIES_QUEUE)) }))
        .withTimeout(TIMEOUT_MS),
    );
  }
}
