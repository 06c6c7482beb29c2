import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REPLIES_QUEUE } from '../replies/replies.constants.js';
import { QueueStats } from '../coordination/queue-stats.service.js';
import { degradedWhenDown } from './degraded.util.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly queues: QueueStats,
    private readonly health: HealthIndicatorService,
  ) {}

  /** `degraded` (never `down`) while the queue does not answer: the reconciler re-enqueues later. */
  check(): Promise<HealthIndicatorResult<'queue'>> {
    return degradedWhenDown(
      this.health,
      'queue',
      this.health
        .check('queue')
        .attempt(async () => ({ ...(await this.queues.counts(REPLIES_QUEUE)) }))
        .withTimeout(TIMEOUT_MS),
    );
  }
}
