import type { BeforeApplicationShutdown, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ClsService } from 'nestjs-cls';
import { runInJobContext, type ParleyClsStore } from '../common/request-context.js';
import type { AppConfig } from '../config/app-config.js';
import type { JobQueue, QueuedJob } from './job-queue.port.js';

/** What a background job names: the send it follows, for its context. */
interface JobContextData {
  requestId: string;
  sessionId: string;
}

/**
 * A queue of background work (memory extraction, summaries) consumed in worker roles, each job in
 * a CLS context of its own. At shutdown the running work is abandoned: its delivery fails and the
 * queue retries it, so `handle` must be safe to run twice.
 */
export abstract class BackgroundJobConsumer<T extends JobContextData>
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  private readonly stop = new AbortController();
  private closing: Promise<void> | undefined;

  protected constructor(
    private readonly queue: JobQueue<T>,
    private readonly options: { concurrency: number; abandonedReason: string },
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly config: AppConfig,
  ) {}

  /** The work of one job; `signal` aborts at shutdown. */
  protected abstract handle(job: QueuedJob<T>, signal: AbortSignal): Promise<void>;

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') {
      return;
    }
    this.queue.process(this.options.concurrency, (job) =>
      runInJobContext(this.cls, job.data, () => this.handle(job, this.stop.signal)),
    );
  }

  /**
   * Its work is aborted and its queue closes at the very start of shutdown, alongside the reply
   * queue's hand-back rather than after it, so the grace period is not spent twice.
   */
  onModuleDestroy(): void {
    this.stop.abort(new Error(this.options.abandonedReason));
    this.closing = this.queue.close(this.config.shutdown.graceMs).catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closing;
  }
}
