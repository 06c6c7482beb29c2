import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import { LockService } from '../coordination/lock.port.js';
import { extractionJobId, MEMORY_EXTRACTION_QUEUE, type ExtractMemoriesJobData } from '../memory/memory.constants.js';
import { REPLIES_QUEUE, type GenerateReplyJobData } from './replies.constants.js';
import { ReplyRepository } from './reply.repository.js';
import { describeErrorBriefly } from '../common/log-safe-error.js';

const BATCH = 500;
/** How far back completed replies are checked for a memory extraction that never ran. */
const EXTRACTION_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The longest a message's extraction, enqueued again and failed again, waits before the next try. */
const EXTRACTION_RETRY_MAX_MS = 60 * 60 * 1000;
/** The messages whose extraction this process enqueued again that it remembers (the oldest go first). */
const EXTRACTION_RETRIES_KEPT = 10_000;

/** A message's extraction enqueued again by this process: how often, and when it may be once more. */
interface ExtractionRetry {
  readonly count: number;
  readonly nextAt: number;
}

export interface Reconciled {
  /** Open replies enqueued again. */
  readonly replies: number;
  /** User messages of completed replies whose memory extraction was enqueued again. */
  readonly extractions: number;
}

/**
 * The safety net of the reply pipeline (F9): open replies whose job is gone (Redis restarted
 * empty, a delivery given up on, an enqueue that failed) are enqueued again, on start and every
 * RECONCILE_INTERVAL_MS, by one replica at a time. Re-adding is safe: the job id is the reply id.
 * In the same pass, user messages whose reply completed in the last day but that were never
 * extracted (the extraction job was lost with Redis or a process) get their extraction enqueued
 * again; its job id is derived from the message and the extraction stores a message once.
 * An extraction this process enqueued again that is missing again failed again (the model down, or
 * refusing the deployment's key): it waits twice RECONCILE_INTERVAL_MS before the next try, twice
 * as long after each, at most an hour (about thirty tries in the day a message is looked at, not
 * one every pass), and the messages waiting are left out of the batch, so they cannot keep others
 * from being found.
 */
@Injectable()
export class ReplyReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** By message id, in the order they were last enqueued again. */
  private readonly extractionRetries = new Map<string, ExtractionRetry>();

  constructor(
    private readonly replies: ReplyRepository,
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    @Inject(jobQueueToken(MEMORY_EXTRACTION_QUEUE)) private readonly extractionQueue: JobQueue<ExtractMemoriesJobData>,
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

  /** Returns what was enqueued again (nothing when another replica holds the turn). */
  async reconcile(): Promise<Reconciled> {
    const ttlMs = Math.max(1000, this.config.replies.reconcileIntervalMs);
    const result = await this.locks.tryWithLock('reply-reconciler', { ttlMs }, async (signal) => {
      let replies = 0;
      for (const reply of await this.replies.openReplies(BATCH)) {
        signal.throwIfAborted();
        if (!(await this.queue.has(reply.id))) {
          await this.queue.requeue(reply.id, {
            replyId: reply.id,
            sessionId: reply.sessionId,
            requestId: reply.requestId ?? 'reconciler',
          });
          replies += 1;
        }
      }
      let extractions = 0;
      const waiting = this.extractionsWaiting(Date.now());
      for (const message of await this.replies.awaitingExtraction(EXTRACTION_WINDOW_MS, BATCH, waiting)) {
        signal.throwIfAborted();
        const jobId = extractionJobId(message.messageId);
        if (!(await this.extractionQueue.has(jobId))) {
          this.noteExtractionRetry(message.messageId, Date.now());
          // `add`, not `requeue`: a job that is queued or running right now is left alone.
          await this.extractionQueue.add(jobId, {
            ownerId: message.ownerId,
            sessionId: message.sessionId,
            messageId: message.messageId,
            content: message.content,
            requestId: message.requestId ?? 'reconciler',
          });
          extractions += 1;
        }
      }
      return { replies, extractions };
    });
    const reconciled = result.acquired ? result.value : { replies: 0, extractions: 0 };
    if (reconciled.replies > 0) {
      this.logger.info({ requeued: reconciled.replies }, 'open replies without a job enqueued again');
    }
    if (reconciled.extractions > 0) {
      this.logger.info({ requeued: reconciled.extractions }, 'memory extractions without a job enqueued again');
    }
    return reconciled;
  }

  /**
   * The messages whose next try is still to come. One whose next try fell due a window ago is
   * forgotten: its reply completed before then, so it is out of the window too.
   */
  private extractionsWaiting(now: number): string[] {
    const waiting: string[] = [];
    for (const [messageId, retry] of this.extractionRetries) {
      if (retry.nextAt <= now - EXTRACTION_WINDOW_MS) {
        this.extractionRetries.delete(messageId);
      } else if (retry.nextAt > now) {
        waiting.push(messageId);
      }
    }
    return waiting;
  }

  private noteExtractionRetry(messageId: string, now: number): void {
    const count = (this.extractionRetries.get(messageId)?.count ?? 0) + 1;
    const waitMs = Math.min(EXTRACTION_RETRY_MAX_MS, this.config.replies.reconcileIntervalMs * 2 ** count);
    this.extractionRetries.delete(messageId);
    this.extractionRetries.set(messageId, { count, nextAt: now + waitMs });
    if (this.extractionRetries.size > EXTRACTION_RETRIES_KEPT) {
      const oldest = this.extractionRetries.keys().next().value as string;
      this.extractionRetries.delete(oldest);
    }
  }
}
