export interface QueuedJob<T> {
  readonly id: string;
  readonly data: T;
  /** 1 on the first delivery. */
  readonly attempt: number;
}

export type JobHandler<T> = (job: QueuedJob<T>) => Promise<void>;

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface JobQueueOptions {
  /** Deliveries before a job is given up on. */
  attempts: number;
  /** First retry delay; doubles on each retry. */
  backoffMs: number;
  /**
   * How long a delivered job stays with its worker without the worker renewing it (Redis only):
   * past it, the job is handed to another worker (a crashed or frozen worker loses its jobs).
   */
  lockDurationMs?: number;
}

/**
 * A named queue with at-least-once delivery. The job id makes `add` idempotent: adding an id
 * that is still queued or running does nothing. Every handler must be idempotent.
 */
export abstract class JobQueue<T> {
  abstract readonly name: string;
  abstract add(jobId: string, data: T): Promise<void>;
  /** Like `add`, but a finished job still kept under this id is replaced instead of blocking it. */
  abstract requeue(jobId: string, data: T): Promise<void>;
  /** Starts consuming in this process. */
  abstract process(concurrency: number, handler: JobHandler<T>): void;
  /** Whether a job with this id is still queued, delayed or running. */
  abstract has(jobId: string): Promise<boolean>;
  abstract counts(): Promise<JobCounts>;
  /** Stops taking new jobs and waits for the running ones, at most `timeoutMs`. */
  abstract close(timeoutMs: number): Promise<void>;
}

export abstract class JobQueueFactory {
  abstract create<T>(name: string, options: JobQueueOptions): JobQueue<T>;
}
