import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import { LockService } from '../coordination/lock.port.js';
import { REPLIES_QUEUE, type GenerateReplyJobData } from './replies.constants.js';
import { ReplyRepository } from './reply.repository.js';
import { describeErrorBriefly } from '../common/log-safe-error.js';

const BATCH = 500;

/**
 * The safety net of the reply pipeline (F9): open replies whose job is gone (Redis restarted
 * empty, a delivery given up on, an enqueue that failed) are enqueued again, on start and every
 * RECONCILE_INTERVAL_MS, by one replica at a time. Re-adding is safe: the job id is the reply id.
 */
@Injectable()
export class ReplyReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly replies: ReplyRepository,
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    private readonly locks: LockService,
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const tick = (): void => {
      this.running = this.reconcile()
        .catch((error: Error) => this.logger.warn({ err: describeErrorBriefly(error) }, 'reconcile failed'))
        .finally(() => {
          this.timer = setTimeout(tick, this.config.replies.reconcileIntervalMs);
          this.timer.unref();
        });
    };
    tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    await this.running;
    clearTimeout(this.timer);
  }

  /** Returns how many replies were enqueued again (0 when another replica holds the turn). */
  async reconcile(): Promise<number> {
    const ttlMs = Math.max(1000, this.config.replies.reconcileIntervalMs);
    const result = await this.locks.tryWithLock('reply-reconciler', { ttlMs }, async (signal) => {
      let requeued = 0;
      for (const reply of await this.replies.openReplies(BATCH)) {
        signal.throwIfAborted();
        if (!(await this.queue.has(reply.id))) {
          await this.queue.requeue(reply.id, { replyId: reply.id, sessionId: reply.sessionId, requestId: reply.requestId ?? 'reconciler' });
          requeued += 1;
        }
      }
      return requeued;
    });
    const requeued = result.acquired ? result.value : 0;
    if (requeued > 0) {
      this.logger.info({ requeued }, 'open replies without a job enqueued again');
    }
    return requeued;
  }
}
