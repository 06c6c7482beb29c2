import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REPLIES_QUEUE, type GenerateReplyJobData } from '../replies/replies.constants.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import { degradedWhenDown } from './degraded.util.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class QueueHealthIndicator {
  constructor(
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    private readonly health: HealthIndicatorService,
  ) {}

  /** `degraded` (never `down`) while the queue does not answer: the reconciler re-enqueues later. */
  check(): Promise<HealthIndicatorResult<'queue'>> {
    return degradedWhenDown(
      this.health,
      'queue',
      this.health
        .check('queue')
        .attempt(async () => ({ ...(await this.queue.counts()) }))
        .withTimeout(TIMEOUT_MS),
    );
  }
}
