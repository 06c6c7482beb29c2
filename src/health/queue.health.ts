import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REPLIES_QUEUE, type GenerateReplyJobData } from '../replies/replies.constants.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';

const TIMEOUT_MS = 1000;

@Injectable()
export class QueueHealthIndicator {
  constructor(
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): Promise<HealthIndicatorResult<'queue'>> {
    return Promise.resolve(
      this.health
        .check('queue')
        .attempt(async () => ({ ...(await this.queue.counts()) }))
        .withTimeout(TIMEOUT_MS),
    );
  }
}
