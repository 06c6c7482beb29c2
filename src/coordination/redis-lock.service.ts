import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Mutex } from 'redis-semaphore';
import { PINO_LOGGER } from '../common/logger.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { lockKind, LockService, type LockedWork, type LockOptions, type LockResult } from './lock.port.js';
import { redisScript } from '../redis/redis-script.js';

/** Extends the lock only while this owner still holds it (redis-semaphore's own refresh check). */
const EXTEND_IF_OWNER = redisScript(`if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
return 0`);

/**
 * `SET NX PX` locks with an owner token (redis-semaphore Mutex: one Redis, so not Redlock),
 * extended while held and released only by their owner. Losing one aborts the work: when another
 * owner holds it or it expired (the process stalled past the TTL), and when Redis could not be
 * reached for a whole TTL. The extension is ours rather than redis-semaphore's, whose refresh
 * timer lets a Redis error escape as an unhandled rejection.
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
    const redisKey = this.redis.key('lock', key);
    const mutex = new Mutex(this.redis.commands, redisKey, {
      lockTimeout: options.ttlMs,
      refreshInterval: 0,
      acquireAttemptsLimit: 1,
    });
    const acquired = await mutex.tryAcquire();
    this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: acquired ? 'acquired' : 'busy' });
    if (!acquired) {
      return { acquired: false };
    }
    const controller = new AbortController();
    const fence = { key: `mutex:${redisKey}`, token: mutex.identifier };
    const stopExtending = this.keepExtended(key, fence.key, fence.token, options.ttlMs, controller);
    try {
      return { acquired: true, value: await work(controller.signal, fence) };
    } finally {
      stopExtending();
      await mutex
        .release()
        .catch((error: Error) => this.logger.warn({ lock: key, err: error.message }, 'lock release failed'));
    }
  }

  private keepExtended(
    key: string,
    redisKey: string,
    owner: string,
    ttlMs: number,
    controller: AbortController,
  ): () => void {
    let extendedAt = Date.now();
    let extending = false;
    const lost = (reason: Error): void => {
      clearInterval(timer);
      this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: 'lost' });
      this.logger.warn({ lock: key, err: reason.message }, 'lock lost; aborting its work');
      controller.abort(reason);
    };
    const extend = async (): Promise<void> => {
      try {
        const result = await this.redis.runScript(EXTEND_IF_OWNER, [redisKey], [owner, ttlMs]);
        if (Number(result) !== 1) {
          lost(new Error(`lock ${key} expired or was taken over`));
          return;
        }
        extendedAt = Date.now();
      } catch (error) {
        if (Date.now() - extendedAt >= ttlMs) {
          lost(error as Error);
        }
      }
    };
    const timer = setInterval(
      () => {
        if (!extending && !controller.signal.aborted) {
          extending = true;
          void extend().finally(() => {
            extending = false;
          });
        }
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    return () => clearInterval(timer);
  }
}
