import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../../common/logger.module.js';
import { runInJobContext, type ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue, QueuedJob } from '../../coordination/job-queue.port.js';
import { REPLIES_QUEUE, type GenerateReplyJobData } from '../replies.constants.js';
import { ReplyGenerationService } from '../reply-generation.service.js';
import { describeErrorBriefly } from '../../common/log-safe-error.js';

/** At shutdown, replies still running this long before the grace period ends are handed back. */
const HAND_BACK_MARGIN_MS = 2000;

/**
 * Consumes the replies queue in worker roles; each job runs in a CLS context of its own. At
 * shutdown it stops taking jobs and lets the running ones finish; those that would outlive the
 * grace period are aborted, which fails their delivery so that the queue retries them on another
 * worker (their reply rows stay open, and the next attempt fences this one out).
 */
@Injectable()
export class GenerateReplyJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly stop = new AbortController();

  constructor(
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    private readonly generation: ReplyGenerationService,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') {
      return;
    }
    this.queue.process(this.config.replies.concurrency, (job) => this.run(job));
  }

  async beforeApplicationShutdown(): Promise<void> {
    const graceMs = this.config.shutdown.graceMs;
    const handBack = setTimeout(
      () => this.stop.abort(new Error('worker shutting down; reply handed back')),
      Math.max(0, graceMs - Math.min(HAND_BACK_MARGIN_MS, graceMs / 4)),
    );
    await this.queue.close(graceMs);
    clearTimeout(handBack);
  }

  private run(job: QueuedJob<GenerateReplyJobData>): Promise<void> {
    return runInJobContext(this.cls, job.data, async () => {
      try {
        await this.generation.generateForJob(job.data.replyId, job.data.sessionId, this.stop.signal);
      } catch (error) {
        this.logger.warn(
          { err: describeErrorBriefly(error), replyId: job.id, attempt: job.attempt },
          'reply job failed',
        );
        throw error;
      }
    });
  }
}
