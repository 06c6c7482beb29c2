import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { MeService } from '../me/me.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LlmError } from '../llm/llm.error.js';
import { FactExtractor, MalformedExtractionError } from './extraction/fact-extractor.js';
import type { ExtractMemoriesJobData } from './memory.constants.js';
import { MemoryExtractionRepository } from './memory-extraction.repository.js';

export type ExtractionOutcome = 'stored' | 'nothing' | 'duplicate' | 'disabled' | 'malformed' | 'refused' | 'gone';

/** PostgreSQL: a referenced row is gone (the message's session was deleted meanwhile). */
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Draws durable facts from a user message once its reply completed and stores them as memories
 * with `source: "extracted"`. Safe to run twice for one message (the second run stores nothing).
 * A malformed model answer stores nothing and is counted, and so does a message the model refuses
 * for what it holds (400, 413, 422): both are recorded as extracted, since asking again would get
 * the same answer (the queue's retries and the reconciler's passes would ask it every
 * RECONCILE_INTERVAL_MS for a day). Any other model error (a timeout, 429, 5xx, the deployment's
 * key or model refused) is thrown so that the queue retries it, and counted as `error`.
 */
@Injectable()
export class MemoryExtractionService {
  constructor(
    private readonly extractor: FactExtractor,
    private readonly extractions: MemoryExtractionRepository,
    private readonly me: MeService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  async extract(job: ExtractMemoriesJobData, signal: AbortSignal): Promise<ExtractionOutcome> {
    try {
      const outcome = await this.run(job, signal);
      this.metrics.memoryExtractions.inc({ outcome });
      return outcome;
    } catch (error) {
      this.metrics.memoryExtractions.inc({ outcome: 'error' });
      throw error;
    }
  }

  private async run(job: ExtractMemoriesJobData, signal: AbortSignal): Promise<ExtractionOutcome> {
    if (!(await this.me.get(job.ownerId)).memoryExtraction) {
      return 'disabled';
    }
    if (await this.extractions.wasExtracted(job.messageId)) {
      return 'duplicate';
    }
    let facts;
    try {
      facts = await this.extractor.extract(job.content, signal);
    } catch (error) {
      if (error instanceof MalformedExtractionError) {
        this.logger.warn({ messageId: job.messageId, err: error.message }, 'malformed memory extraction');
        await this.markUnusable(job);
        return 'malformed';
      }
      if (error instanceof LlmError && error.refusesContent) {
        this.logger.warn(
          { messageId: job.messageId, status: error.status, err: error.message },
          'memory extraction refused by the model',
        );
        await this.markUnusable(job);
        return 'refused';
      }
      throw error;
    }
    try {
      const result = await this.extractions.store(job, facts, this.config.limits.maxMemoriesPerUser);
      if (!result.first) {
        return 'duplicate';
      }
      for (const fact of result.facts) {
        this.metrics.extractedFacts.inc({ result: fact });
      }
      this.metrics.extractedFacts.inc({ result: 'replaced' }, result.replaced);
      this.metrics.extractedFacts.inc({ result: 'evicted' }, result.evicted);
      return result.facts.includes('stored') ? 'stored' : 'nothing';
    } catch (error) {
      if ((error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) {
        return 'gone';
      }
      throw error;
    }
  }

  /**
   * Records a message the model gave no usable answer for as extracted with nothing stored. A
   * message whose session is gone meanwhile has nothing left to record.
   */
  private async markUnusable(job: ExtractMemoriesJobData): Promise<void> {
    try {
      await this.extractions.markExtracted(job);
    } catch (error) {
      if ((error as { code?: unknown }).code !== FOREIGN_KEY_VIOLATION) {
        throw error;
      }
    }
  }
}
