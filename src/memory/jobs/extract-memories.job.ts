import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../../common/logger.module.js';
import type { ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { BackgroundJobConsumer } from '../../coordination/background-job.consumer.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue, QueuedJob } from '../../coordination/job-queue.port.js';
import { MEMORY_EXTRACTION_QUEUE, type ExtractMemoriesJobData } from '../memory.constants.js';
import { MemoryExtractionService } from '../memory-extraction.service.js';

/** Extractions at once per worker process: background work, kept below the replies' share. */
const EXTRACTION_CONCURRENCY = 2;

/**
 * Consumes the memory-extraction queue in worker roles. At shutdown running extractions are
 * aborted: their delivery fails and the queue retries them, and a message already extracted is
 * never stored twice.
 */
@Injectable()
export class ExtractMemoriesJob extends BackgroundJobConsumer<ExtractMemoriesJobData> {
  constructor(
    @Inject(jobQueueToken(MEMORY_EXTRACTION_QUEUE)) queue: JobQueue<ExtractMemoriesJobData>,
    private readonly extraction: MemoryExtractionService,
    cls: ClsService<ParleyClsStore>,
    config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super(
      queue,
      { concurrency: EXTRACTION_CONCURRENCY, abandonedReason: 'worker shutting down; extraction handed back' },
      cls,
      config,
    );
  }

  protected async handle(job: QueuedJob<ExtractMemoriesJobData>, signal: AbortSignal): Promise<void> {
    try {
      const outcome = await this.extraction.extract(job.data, signal);
      this.logger.debug({ messageId: job.data.messageId, outcome }, 'memory extraction done');
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, jobId: job.id, attempt: job.attempt },
        'memory extraction failed',
      );
      throw error;
    }
  }
}
