import { JobQueue, type JobCounts, type JobHandler, type JobQueueOptions, type QueuedJob } from './job-queue.port.js';

/** A queue inside this process (embedded mode): same contract as the Redis one, one process only. */
export class InProcessJobQueue<T> extends JobQueue<T> {
  private readonly ready: Array<QueuedJob<T>> = [];
  private readonly known = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private handler: JobHandler<T> | undefined;
  private concurrency = 1;
  private running = 0;
  private failed = 0;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly options: JobQueueOptions,
  ) {
    super();
  }

  async add(jobId: string, data: T): Promise<void> {
    if (this.closed || this.known.has(jobId)) {
      return;
    }
    this.known.add(jobId);
    this.ready.push({ id: jobId, data, attempt: 1 });
    this.drain();
  }

  requeue(jobId: string, data: T): Promise<void> {
    return this.add(jobId, data);
  }

  process(concurrency: number, handler: JobHandler<T>): void {
    this.concurrency = concurrency;
    this.handler = handler;
    this.drain();
  }

  async has(jobId: string): Promise<boolean> {
    return this.known.has(jobId);
  }

  async counts(): Promise<JobCounts> {
    return { waiting: this.ready.length, active: this.running, delayed: this.timers.size, failed: this.failed };
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    if (this.running === 0) {
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private drain(): void {
    const handler = this.handler;
    while (handler && !this.closed && this.running < this.concurrency && this.ready.length > 0) {
      const job = this.ready.shift() as QueuedJob<T>;
      this.running += 1;
      void this.run(handler, job);
    }
  }

  private async run(handler: JobHandler<T>, job: QueuedJob<T>): Promise<void> {
    try {
      await handler(job);
      this.known.delete(job.id);
    } catch {
      this.retryOrFail(job);
    } finally {
      this.running -= 1;
      if (this.running === 0) {
        this.idle.splice(0).forEach((notify) => notify());
      }
      this.drain();
    }
  }

  private retryOrFail(job: QueuedJob<T>): void {
    if (job.attempt >= this.options.attempts || this.closed) {
      this.failed += 1;
      this.known.delete(job.id);
      return;
    }
    const delay = this.options.backoffMs * 2 ** (job.attempt - 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push({ ...job, attempt: job.attempt + 1 });
      this.drain();
    }, delay);
    this.timers.add(timer);
  }
}
