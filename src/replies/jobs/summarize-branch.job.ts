import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { runInJobContext, type ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue, QueuedJob } from '../../coordination/job-queue.port.js';
import { SUMMARIES_QUEUE, type SummarizeBranchJobData } from '../replies.constants.js';
import { SummaryService } from '../summary/summary.service.js';

/** Summaries at once per worker process: background work. */
const SUMMARY_CONCURRENCY = 1;

/** Consumes the summaries queue in worker roles; at shutdown a running summary is abandoned. */
@Injectable()
export class SummarizeBranchJob implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly stop = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(
    @Inject(jobQueueToken(SUMMARIES_QUEUE)) private readonly queue: JobQueue<SummarizeBranchJobData>,
    private readonly summaries: SummaryService,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') {
      return;
    }
    this.queue.process(SUMMARY_CONCURRENCY, (job) => this.run(job));
  }

  /**
   * Its work is aborted and its queue closes at the very start of shutdown, alongside the reply
   * queue's hand-back rather than after it, so the grace period is not spent twice.
   */
  onModuleDestroy(): void {
    this.stop.abort(new Error('worker shutting down; summary abandoned'));
    this.closing = this.queue.close(this.config.shutdown.graceMs).catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closing;
  }

  private run(job: QueuedJob<SummarizeBranchJobData>): Promise<void> {
    return runInJobContext(this.cls, job.data, async () => {
      await this.summaries.summarize(job.data, this.stop.signal);
    });
  }
}
