import { BullModule, getQueueToken } from '@nestjs/bull';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Queue } from 'bull';
import { AppConfig } from '../config/app-config.js';
import { RedisService } from '../redis/redis.service.js';
import { BullJobQueue } from './bull-job-queue.js';
import { InProcessJobQueue } from './in-process-job-queue.js';
import { InProcessLockService } from './in-process-lock.service.js';
import type { JobQueueOptions } from './job-queue.port.js';
import { LockService } from './lock.port.js';
import { RedisLockService } from './redis-lock.service.js';

export const jobQueueToken = (name: string): string => `parley:job-queue:${name}`;

const BULL_CLIENT_ROLE = {
  client: 'queue-client',
  subscriber: 'queue-subscriber',
  bclient: 'queue-blocking',
} as const;

/**
 * Locks and queues, backed by Redis when REDIS_URL is set (every replica shares them) or by this
 * process otherwise (embedded mode, one process). Callers see only the LockService and JobQueue ports.
 */
@Module({})
export class CoordinationModule {
  static forRoot(config: AppConfig, queues: Readonly<Record<string, JobQueueOptions>>): DynamicModule {
    const names = Object.keys(queues);
    const exports = [LockService, ...names.map(jobQueueToken)];
    if (config.redis.url === undefined) {
      const providers: Provider[] = [
        { provide: LockService, useClass: InProcessLockService },
        ...names.map((name) => ({
          provide: jobQueueToken(name),
          useFactory: () => new InProcessJobQueue(name, queues[name] as JobQueueOptions),
        })),
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
        ...names.map((name) => BullModule.registerQueue({ name })),
      ],
      providers: [
        { provide: LockService, useClass: RedisLockService },
        ...names.map((name) => ({
          provide: jobQueueToken(name),
          inject: [getQueueToken(name)],
          useFactory: (queue: Queue) => new BullJobQueue(queue, queues[name] as JobQueueOptions),
        })),
      ],
      exports,
    };
  }
}
