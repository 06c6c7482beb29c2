import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { lockKind, LockService, type LockedWork, type LockOptions, type LockResult } from './lock.port.js';
import { redisScript } from '../redis/redis-script.js';

/**
 * Takes the lock (KEYS[1]) for the owner token ARGV[1] for ARGV[2] ms; when another owner holds it,
 * marks it wanted (KEYS[2]) for as long, atomically with the refusal, so that its holder learns of
 * it when it lets go. Returns 1 when taken.
 */
const ACQUIRE = redisScript(`if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
redis.call('set', KEYS[2], '1', 'PX', ARGV[2])
return 0`);

/** Extends the lock, and its wanted mark with it, only while this owner still holds it. */
const EXTEND_IF_OWNER = redisScript(`if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  redis.call('pexpire', KEYS[2], ARGV[2])
  return 1
end
return 0`);

/**
 * Lets the lock go if this owner still holds it: 1 when nobody was refused it meanwhile, 2 when
 * somebody was (the mark is taken with the lock), 0 when it was no longer this owner's (the mark,
 * if any, is left to the holder it belongs to).
 */
const RELEASE = redisScript(`if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('del', KEYS[1])
return 1 + redis.call('del', KEYS[2])`);

/**
 * `SET NX PX` locks with an owner token (one Redis, so not Redlock), extended while held and
 * released only by their owner. Losing one aborts the work: when another owner holds it or it
 * expired (the process stalled past the TTL), and when Redis could not be reached for a whole TTL.
 * A refused attempt marks the lock wanted, in the same script: the release tells the holder
 * (`contended`), so that work handed over by a refusal (a reply's job finding its session's lock
 * held) is looked for after the release only when there was a refusal. Hand-written rather than
 * redis-semaphore's Mutex, which has no such mark (and whose refresh timer let a Redis error escape
 * as an unhandled rejection).
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
    // The key the event stream's fence reads (FENCED_XADD), and the lock's wanted mark beside it.
    const fence = { key: `mutex:${redisKey}`, token: randomUUID() };
    const keys = [fence.key, `${fence.key}:wanted`];
    const acquired = Number(await this.redis.runScript(ACQUIRE, keys, [fence.token, options.ttlMs])) === 1;
    this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: acquired ? 'acquired' : 'busy' });
    if (!acquired) {
      return { acquired: false };
    }
    const controller = new AbortController();
    const stopExtending = this.keepExtended(key, keys, fence.token, options.ttlMs, controller);
    let value: T;
    let released: number | undefined;
    try {
      value = await work(controller.signal, fence);
    } finally {
      stopExtending();
      released = await this.redis.runScript(RELEASE, keys, [fence.token]).then(
        (answer) => Number(answer),
        (error: Error) => {
          this.logger.warn({ lock: key, err: error.message }, 'lock release failed');
          return undefined;
        },
      );
    }
    return released === 1 || released === 2
      ? { acquired: true, value, contended: released === 2 }
      : { acquired: true, value };
  }

  private keepExtended(
    key: string,
    keys: readonly string[],
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
        const result = await this.redis.runScript(EXTEND_IF_OWNER, keys, [owner, ttlMs]);
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
