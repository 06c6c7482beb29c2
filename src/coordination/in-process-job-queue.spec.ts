import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InProcessJobQueue } from './in-process-job-queue.js';

describe('InProcessJobQueue', () => {
  it('ignores an id that is still queued or running (idempotent enqueue)', async () => {
    const queue = new InProcessJobQueue<number>('t', { attempts: 1, backoffMs: 1 });
    const seen: number[] = [];
    await queue.add('a', 1);
    await queue.add('a', 2);
    queue.process(1, async (job) => {
      seen.push(job.data);
    });
    await queue.close(1000);
    expect(seen).toEqual([1]);
  });

  it('never runs more than its concurrency at once', async () => {
    const queue = new InProcessJobQueue<number>('t', { attempts: 1, backoffMs: 1 });
    let running = 0;
    let peak = 0;
    queue.process(3, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(5);
      running -= 1;
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => queue.add(`job-${i}`, i)));
    await sleep(100);
    await queue.close(1000);
    expect(peak).toBe(3);
  });

  it('retries a failing job with backoff until its attempts are spent', async () => {
    const queue = new InProcessJobQueue<string>('t', { attempts: 3, backoffMs: 2 });
    const attempts: number[] = [];
    queue.process(1, async (job) => {
      attempts.push(job.attempt);
      if (job.attempt < 3) {
        throw new Error('transient');
      }
    });
    await queue.add('r', 'x');
    for (let i = 0; i < 100 && attempts.length < 3; i += 1) {
      await sleep(5);
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(await queue.has('r')).toBe(false);
    expect((await queue.counts()).failed).toBe(0);
  });
});
