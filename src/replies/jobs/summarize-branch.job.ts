import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { BackgroundJobConsumer } from '../../coordination/background-job.consumer.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue, QueuedJob } from '../../coordination/job-queue.port.js';
import { SUMMARIES_QUEUE, type SummarizeBranchJobData } from '../replies.constants.js';
import { SummaryService } from '../summary/summary.service.js';

/** Summaries at once per worker process: background work. */
const SUMMARY_CONCURRENCY = 1;

/** Consumes the summaries queue in worker roles; at shutdown a running summary is abandoned. */
@Injectable()
export class SummarizeBranchJob extends BackgroundJobConsumer<SummarizeBranchJobData> {
  constructor(
    @Inject(jobQueueToken(SUMMARIES_QUEUE)) queue: JobQueue<SummarizeBranchJobData>,
    private readonly summaries: SummaryService,
    cls: ClsService<ParleyClsStore>,
    config: AppConfig,
  ) {
    super(
      queue,
      { concurrency: SUMMARY_CONCURRENCY, abandonedReason: 'worker shutting down; summary abandoned' },
      cls,
      config,
    );
  }

  protected async handle(job: QueuedJob<SummarizeBranchJobData>, signal: AbortSignal): Promise<void> {
    await this.summaries.summarize(job.data, signal);
  }
}
