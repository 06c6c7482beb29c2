import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../../common/logger.module.js';
import { runInJobContext, type ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue, QueuedJob } from '../../coordination/job-queue.port.js';
import { MEMORY_EXTRACTION_QUEUE, type ExtractMemoriesJobData } from '../memory.constants.js';
import { MemoryExtractionService } from '../memory-extraction.service.js';

/** Extractions at once per worker process: background work, kept below the replies' share. */
const EXTRACTION_CONCURRENCY = 2;

/**
 * Consumes the memory-extraction queue in worker roles, each job in a CLS context of its own. At
 * shutdown running extractions are aborted: their delivery fails and the queue retries them, and
 * a message already extracted is never stored twice.
 */
@Injectable()
export class ExtractMemoriesJob implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly stop = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(
    @Inject(jobQueueToken(MEMORY_EXTRACTION_QUEUE)) private readonly queue: JobQueue<ExtractMemoriesJobData>,
    private readonly extraction: MemoryExtractionService,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') {
      return;
    }
    this.queue.process(EXTRACTION_CONCURRENCY, (job) => this.run(job));
  }

  /**
   * Its work is aborted and its queue closes at the very start of shutdown, alongside the reply
   * queue's hand-back rather than after it, so the grace period is not spent twice.
   */
  onModuleDestroy(): void {
    this.stop.abort(new Error('worker shutting down; extraction handed back'));
    this.closing = this.queue.close(this.config.shutdown.graceMs).catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closing;
  }

  private run(job: QueuedJob<ExtractMemoriesJobData>): Promise<void> {
    return runInJobContext(this.cls, job.data, async () => {
      try {
        const outcome = await this.extraction.extract(job.data, this.stop.signal);
        this.logger.debug({ messageId: job.data.messageId, outcome }, 'memory extraction done');
      } catch (error) {
        this.logger.warn(
          { err: (error as Error).message, jobId: job.id, attempt: job.attempt },
          'memory extraction failed',
        );
        throw error;
      }
    });
  }
}
