import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { RedisService } from '../redis/redis.service.js';
import { SignalBus } from './signal-bus.port.js';

interface Listening {
  listeners: Array<(message: string) => void>;
  resumed: Array<() => void>;
}

/**
 * Redis pub/sub on the process's one subscriber connection. ioredis subscribes again to every
 * channel after a reconnect, so a listener outlives a Redis restart. Signals sent while this
 * process was cut off are lost: once a channel's subscription is confirmed again after a
 * reconnect, its `resumed` callbacks run, and every signal from then on is delivered.
 */
@Injectable()
export class RedisSignalBus extends SignalBus {
  private readonly channels = new Map<string, Listening>();
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

  listen(channel: string, listener: (message: string) => void, resumed?: () => void): void {
    const key = this.redis.key('signal', channel);
    const listening = this.channels.get(key) ?? { listeners: [], resumed: [] };
    listening.listeners.push(listener);
    if (resumed !== undefined) {
      listening.resumed.push(resumed);
    }
    this.channels.set(key, listening);
    const subscriber = this.redis.subscriber;
    if (!this.attached) {
      this.attached = true;
      subscriber.on('message', (from: string, message: string) => {
        for (const each of this.channels.get(from)?.listeners ?? []) {
          each(message);
        }
      });
      let connected = subscriber.status === 'ready';
      subscriber.on('ready', () => {
        if (!connected) {
          connected = true;
          return;
        }
        // A reconnect. ioredis subscribes again by itself; subscribing here as well tells when the
        // subscription is back, from which moment no signal is lost.
        for (const [again, { resumed: callbacks }] of this.channels) {
          if (callbacks.length > 0) {
            void this.subscribe(again).then((done) => done && callbacks.forEach((each) => each()));
          }
        }
      });
    }
    void this.subscribe(key);
  }

  private subscribe(key: string): Promise<boolean> {
    return this.redis.subscriber.subscribe(key).then(
      () => true,
      (error: Error) => {
        this.logger.warn({ channel: key, err: error.message }, 'subscribe failed');
        return false;
      },
    );
  }
}
