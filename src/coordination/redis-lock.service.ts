import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Mutex } from 'redis-semaphore';
import { PINO_LOGGER } from '../common/logger.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { lockKind, LockService, type LockedWork, type LockOptions, type LockResult } from './lock.port.js';

/**
 * `SET NX PX` locks with an owner token (redis-semaphore Mutex: one Redis, so not Redlock),
 * extended while held and released only by their owner. Losing one aborts the work.
 */
@Injectable()
export class RedisLockService extends LockService {
  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  async tryWithLock<T>(key: string, options: LockOptions, work: LockedWork<T>): Promise<LockResult<T>> {
    const controller = new AbortController();
    const mutex = new Mutex(this.redis.commands, this.redis.key('lock', key), {
      lockTimeout: options.ttlMs,
      refreshInterval: Math.max(100, Math.floor(options.ttlMs / 3)),
      acquireAttemptsLimit: 1,
      onLockLost: (error) => {
        this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: 'lost' });
        this.logger.warn({ lock: key, err: error.message }, 'lock lost; aborting its work');
        controller.abort(error);
      },
    });
    const acquired = await mutex.tryAcquire();
    this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: acquired ? 'acquired' : 'busy' });
    if (!acquired) {
      return { acquired: false };
    }
    try {
      return { acquired: true, value: await work(controller.signal) };
    } finally {
      await mutex.release().catch((error: Error) => this.logger.warn({ lock: key, err: error.message }, 'lock release failed'));
    }
  }
}
