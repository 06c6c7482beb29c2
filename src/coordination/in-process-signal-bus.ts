import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import { SignalBus } from './signal-bus.port.js';

/** Embedded mode: the one process signals itself, and never misses a signal (no `resumed`). */
@Injectable()
export class InProcessSignalBus extends SignalBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async signal(channel: string, message: string): Promise<void> {
    this.emitter.emit(channel, message);
  }

  listen(channel: string, listener: (message: string) => void): void {
    this.emitter.on(channel, listener);
  }
}
