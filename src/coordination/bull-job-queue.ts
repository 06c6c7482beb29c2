import { createRequire } from 'node:module';
import type { Job, Queue } from 'bull';
import { withTimeout } from '../common/with-timeout.util.js';
import { JobQueue, type JobCounts, type JobHandler, type JobQueueOptions } from './job-queue.port.js';

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'paused']);
/**
 * Redis lost mid-command: the caller (a send) stops waiting; the job is added later, or by the
 * reconciler. The one bound on an enqueue: callers add no timeout of their own.
 */
const ADD_TIMEOUT_MS = 1000;

/** Bull's Job class as its workers and getters build a job from the fields Redis returned (untyped by Bull). */
interface BullJobClass {
  fromJSON(queue: unknown, json: Record<string, unknown>, jobId?: unknown): unknown;
}

const TRACES_READ_AS_GIVEN = Symbol.for('parley.bull.tracesReadAsGiven');

/**
 * Bull reads the stack traces of a job's failed attempts with JSON.parse inside a try/catch, also
 * when the job has none: every job taken that never failed threw a SyntaxError and caught it, about
 * 25 µs per send in a CPU profile of `send-vs-pgbench` (whose workers take the sends' reply jobs
 * meanwhile). A job without traces is given the empty list's JSON before Bull reads it, which Bull
 * parses to the same empty list it returned after the throw; traces a failed attempt saved are read
 * as before. The fields are the object Bull built for this one read. Installed once per process
 * (the module may be loaded again beside the same Bull, in tests).
 */
function readMissingTracesWithoutThrowing(): void {
  const Job = createRequire(import.meta.url)('bull/lib/job.js') as BullJobClass &
    Partial<Record<typeof TRACES_READ_AS_GIVEN, true>>;
  if (Job[TRACES_READ_AS_GIVEN] === true) {
    return;
  }
  const fromJSON = Job.fromJSON.bind(Job);
  Job.fromJSON = (queue, json, jobId) => {
    json.stacktrace ??= '[]';
    return fromJSON(queue, json, jobId);
  };
  Job[TRACES_READ_AS_GIVEN] = true;
}

readMissingTracesWithoutThrowing();

/** A Bull queue in Redis, shared by every replica. Delivery is at least once. */
export class BullJobQueue<T> extends JobQueue<T> {
  constructor(
    private readonly queue: Queue<T>,
    private readonly options: JobQueueOptions,
  ) {
    super();
  }

  get name(): string {
    return this.queue.name;
  }

  async add(jobId: string, data: T): Promise<void> {
    // Bull's connection queues commands while Redis is away; a send must not wait on that. Its
    // reply is stored already, and the reconciler enqueues it once Redis is back.
    if (this.queue.client.status !== 'ready') {
      throw new Error(`queue ${this.queue.name} is unavailable (Redis ${this.queue.client.status})`);
    }
    // An id that still exists in Redis is silently ignored by Bull: that is what makes it idempotent.
    const added = this.queue.add(data, {
      jobId,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: true,
      removeOnFail: true,
    });
    await withTimeout(added, ADD_TIMEOUT_MS, `queue ${this.queue.name}`);
  }

  async requeue(jobId: string, data: T): Promise<void> {
    const existing = await this.queue.getJob(jobId);
    if (existing !== null && !LIVE_STATES.has(await existing.getState())) {
      await existing.remove();
    }
    await this.add(jobId, data);
  }

  process(concurrency: number, handler: JobHandler<T>): void {
    void this.queue.process(concurrency, (job: Job<T>) =>
      handler({ id: String(job.id), data: job.data, attempt: job.attemptsMade + 1 }),
    );
  }

  async has(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    return job !== null && LIVE_STATES.has(await job.getState());
  }

  async counts(): Promise<JobCounts> {
    const counts = await this.queue.getJobCounts();
    return { waiting: counts.waiting, active: counts.active, delayed: counts.delayed, failed: counts.failed };
  }

  async close(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.queue.close(), timeout]);
    clearTimeout(timer);
  }
}
