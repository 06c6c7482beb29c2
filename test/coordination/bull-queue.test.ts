import Bull from 'bull';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullJobQueue } from '../../src/coordination/bull-job-queue.js';
import { BULL_CLIENT_ROLE } from '../../src/coordination/coordination.module.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { eventually } from '../support/http.js';
import { connectRedis } from '../support/redis-only.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

/**
 * Every send enqueues its reply, and every completed reply its memory extraction: Bull's client
 * connection auto-pipelines, so the jobs added in one turn of the event loop reach Redis in one
 * write instead of one each (a write on loopback wakes Redis, and was a fifth of a send's system
 * calls). Batched, they must behave as before: each job added once, a repeated id ignored, every
 * job delivered. A batch's pipeline takes Bull's scripts from its class rather than copying all 27.
 */
describe("Bull's client connection", () => {
  const prefix = uniqueName('t');
  let redis: RedisService;
  let queue: Bull.Queue<{ n: number }>;
  let jobs: BullJobQueue<{ n: number }>;
  let client: Redis;

  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, prefix);
    queue = new Bull('batched', {
      prefix: `${prefix}:bull`,
      createClient: (type) => redis.queueConnection(BULL_CLIENT_ROLE[type]),
    });
    jobs = new BullJobQueue(queue, { attempts: 3, backoffMs: 100 });
    client = redis.queueConnection('queue-client');
    await queue.isReady();
    while (client.status !== 'ready') {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The first batch with Bull's scripts also checks that Redis has them.
    await jobs.add('warm-up', { n: -1 });
  });

  afterAll(async () => {
    await queue.close();
    await redis.onApplicationShutdown();
  });

  it('sends the jobs added in one turn in one write, each added once, the first of a repeated id kept', async () => {
    const stream = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write;
    let writes = 0;
    stream.write = (...args: unknown[]): boolean => {
      writes += 1;
      return write.apply(stream, args);
    };
    try {
      await Promise.all([
        ...Array.from({ length: 100 }, (_, n) => jobs.add(`job-${n}`, { n })),
        jobs.add('job-5', { n: 1005 }),
      ]);
    } finally {
      stream.write = write;
    }
    expect(writes).toBe(1);
    expect((await queue.getJobCounts()).waiting).toBe(101);
    expect((await queue.getJob('job-5'))?.data).toEqual({ n: 5 });
  });

  it("builds its batches' pipelines without copies of Bull's scripts, which its transactions keep", () => {
    const scripts = Object.keys((client as unknown as { scriptsSet: Record<string, unknown> }).scriptsSet);
    // Bull defined its scripts on this connection (addJob, moveToActive, moveToFinished...).
    expect(scripts).toContain('addJob');
    expect(scripts.length).toBeGreaterThan(10);
    const own = (target: object): string[] => Object.keys(target).filter((name) => scripts.includes(name));
    const pipeline = client.pipeline() as unknown as Record<string, unknown>;
    expect(own(pipeline)).toEqual([]);
    // The batches ran them in the test above (each job added by addJob in one auto-pipelined write).
    expect(scripts.every((name) => typeof pipeline[name] === 'function')).toBe(true);
    // Bull runs its scripts inside MULTI too (a failed job's move): those pipelines have them all.
    expect(own(client.multi()).toSorted()).toEqual(scripts.toSorted());
  });

  it("reads a job that never failed without parsing the traces it has none of, and keeps a failed attempt's", async () => {
    const traced = new Bull<{ n: number }>('traced', {
      prefix: `${prefix}:bull`,
      createClient: (type) => redis.queueConnection(BULL_CLIENT_ROLE[type]),
    });
    const parse = JSON.parse;
    let missing = 0;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (text === undefined) {
        missing += 1;
      }
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      await traced.add({ n: 1 }, { jobId: 'fresh', attempts: 3 });
      const fresh = await traced.getJob('fresh');
      // Bull parsed `undefined` (and caught the SyntaxError) for every job that never failed.
      expect(missing).toBe(0);
      expect(fresh?.stacktrace).toEqual([]);
      void traced.process(async (job) => {
        if (job.attemptsMade === 0) {
          throw new Error('first attempt failed');
        }
      });
      const retried = await eventually(
        async () => {
          const job = await traced.getJob('fresh');
          return (await job?.getState()) === 'completed' ? job : undefined;
        },
        10_000,
        'the job retried and completed',
      );
      expect(retried?.stacktrace).toHaveLength(1);
      expect(retried?.stacktrace[0]).toContain('first attempt failed');
    } finally {
      JSON.parse = parse;
      await traced.close();
    }
  });

  it('delivers every job once', async () => {
    const delivered: number[] = [];
    jobs.process(8, async (job) => {
      delivered.push(job.data.n);
    });
    await eventually(async () => (delivered.length >= 101 ? true : undefined), 20_000, 'every job delivered');
    expect(delivered.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 101 }, (_, n) => n - 1));
    expect((await jobs.counts()).waiting).toBe(0);
  });
});
