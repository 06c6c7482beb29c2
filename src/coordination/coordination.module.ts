import { BullModule, getQueueToken } from '@nestjs/bull';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { AdvancedSettings, Queue } from 'bull';
import { AppConfig } from '../config/app-config.js';
import { RedisService } from '../redis/redis.service.js';
import { BullJobQueue } from './bull-job-queue.js';
import { EventStream } from './event-stream.port.js';
import { InProcessEventStream } from './in-process-event-stream.js';
import { InProcessJobQueue } from './in-process-job-queue.js';
import { InProcessLockService } from './in-process-lock.service.js';
import { InProcessStreamTicketStore } from './in-process-stream-ticket.store.js';
import type { JobQueue, JobQueueOptions } from './job-queue.port.js';
import { LockService } from './lock.port.js';
import { QueueStats } from './queue-stats.service.js';
import { RedisEventStream } from './redis-event-stream.js';
import { RedisLockService } from './redis-lock.service.js';
import { InProcessSignalBus } from './in-process-signal-bus.js';
import { RedisSignalBus } from './redis-signal-bus.js';
import { SignalBus } from './signal-bus.port.js';
import { RedisStreamTicketStore } from './redis-stream-ticket.store.js';
import { StreamTicketStore } from './stream-ticket-store.port.js';

export const jobQueueToken = (name: string): string => `parley:job-queue:${name}`;

/** The process's Redis connection each of Bull's clients uses (RedisService.queueConnection). */
export const BULL_CLIENT_ROLE = {
  client: 'queue-client',
  subscriber: 'queue-subscriber',
  bclient: 'queue-blocking',
} as const;

/** A job whose worker stopped renewing its lock is seen as stalled within one more lock period. */
function bullSettings(options: JobQueueOptions): AdvancedSettings {
  const lockDuration = options.lockDurationMs ?? 30_000;
  return {
    lockDuration,
    lockRenewTime: Math.floor(lockDuration / 3),
    stalledInterval: lockDuration,
    maxStalledCount: 5,
  };
}

/**
 * Locks, queues and event streams, backed by Redis when REDIS_URL is set (every replica shares them) or by this
 * process otherwise (embedded mode, one process). Callers see only the LockService and JobQueue ports.
 */
@Module({})
export class CoordinationModule {
  static forRoot(config: AppConfig, queues: Readonly<Record<string, JobQueueOptions>>): DynamicModule {
    const names = Object.keys(queues);
    const exports = [LockService, EventStream, SignalBus, StreamTicketStore, QueueStats, ...names.map(jobQueueToken)];
    const queueStats: Provider = {
      provide: QueueStats,
      inject: names.map(jobQueueToken),
      useFactory: (...queues: Array<JobQueue<unknown>>) => new QueueStats(queues),
    };
    if (config.redis.url === undefined) {
      const providers: Provider[] = [
        { provide: LockService, useClass: InProcessLockService },
        { provide: EventStream, useClass: InProcessEventStream },
        { provide: SignalBus, useClass: InProcessSignalBus },
        { provide: StreamTicketStore, useClass: InProcessStreamTicketStore },
        ...names.map((name) => ({
          provide: jobQueueToken(name),
          useFactory: () => new InProcessJobQueue(name, queues[name] as JobQueueOptions),
        })),
        queueStats,
      ];
      return { module: CoordinationModule, global: true, providers, exports };
    }
    return {
      module: CoordinationModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [RedisService, AppConfig],
          useFactory: (redis: RedisService, appConfig: AppConfig) => ({
            prefix: `${appConfig.redis.keyPrefix}:bull`,
            createClient: (type: keyof typeof BULL_CLIENT_ROLE) => redis.queueConnection(BULL_CLIENT_ROLE[type]),
          }),
        }),
        ...names.map((name) =>
          BullModule.registerQueue({ name, settings: bullSettings(queues[name] as JobQueueOptions) }),
        ),
      ],
      providers: [
        { provide: LockService, useClass: RedisLockService },
        { provide: EventStream, useClass: RedisEventStream },
        { provide: SignalBus, useClass: RedisSignalBus },
        { provide: StreamTicketStore, useClass: RedisStreamTicketStore },
        ...names.map((name) => ({
          provide: jobQueueToken(name),
          inject: [getQueueToken(name)],
          useFactory: (queue: Queue) => new BullJobQueue(queue, queues[name] as JobQueueOptions),
        })),
        queueStats,
      ],
      exports,
    };
  }
}
