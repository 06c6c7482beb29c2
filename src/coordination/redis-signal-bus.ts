import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { RedisService } from '../redis/redis.service.js';
import { SignalBus } from './signal-bus.port.js';

/**
 * Redis pub/sub on the process's one subscriber connection. ioredis subscribes again to every
 * channel after a reconnect, so a listener outlives a Redis restart; signals sent while this
 * process was cut off are lost, which callers allow for (see SignalBus).
 */
@Injectable()
export class RedisSignalBus extends SignalBus {
  private readonly listeners = new Map<string, Array<(message: string) => void>>();
  private attached = false;

  constructor(
    private readonly redis: RedisService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  async signal(channel: string, message: string): Promise<void> {
    await this.redis.commands.publish(this.redis.key('signal', channel), message);
  }

  listen(channel: string, listener: (message: string) => void): void {
    const key = this.redis.key('signal', channel);
    const listeners = this.listeners.get(key) ?? [];
    listeners.push(listener);
    this.listeners.set(key, listeners);
    const subscriber = this.redis.subscriber;
    if (!this.attached) {
      this.attached = true;
      subscriber.on('message', (from: string, message: string) => {
        for (const each of this.listeners.get(from) ?? []) {
          each(message);
        }
      });
    }
    subscriber.subscribe(key).catch((error: Error) => this.logger.warn({ channel, err: error.message }, 'subscribe failed'));
  }
}
