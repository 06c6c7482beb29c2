import type { JobCounts, JobQueue } from './job-queue.port.js';

/**
 * How many jobs each queue holds, by state: what health, metrics and admin read, without a
 * handle on any queue (they cannot add or consume) and without knowing who consumes it.
 */
export class QueueStats {
  private readonly queues: ReadonlyMap<string, JobQueue<unknown>>;

  constructor(queues: ReadonlyArray<JobQueue<unknown>>) {
    this.queues = new Map(queues.map((queue) => [queue.name, queue]));
  }

  get names(): string[] {
    return [...this.queues.keys()];
  }

  counts(name: string): Promise<JobCounts> {
    const queue = this.queues.get(name);
    if (queue === undefined) {
      return Promise.reject(new Error(`no queue named ${name}`));
    }
    return queue.counts();
  }
}
