import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';

const SAMPLE_MS = 1000;
const SAMPLES = 5;

/**
 * Liveness from inside: the worst event-loop delay of the last few seconds. A process whose loop
 * keeps stalling past the bound cannot serve and should be restarted; dependencies play no part.
 */
@Injectable()
export class EventLoopHealthIndicator implements OnApplicationShutdown {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 20 });
  private readonly recentMaxMs: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthIndicatorService,
  ) {
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  check(): HealthIndicatorResult<'event_loop'> {
    const indicator = this.health.check('event_loop');
    const worstMs = Math.max(0, ...this.recentMaxMs, this.histogram.max / 1e6);
    const bound = this.config.livenessMaxEventLoopDelayMs;
    return worstMs > bound ? indicator.down({ maxDelayMs: Math.round(worstMs), boundMs: bound }) : indicator.up();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    this.recentMaxMs.push(this.histogram.max / 1e6);
    this.histogram.reset();
    if (this.recentMaxMs.length > SAMPLES) {
      this.recentMaxMs.shift();
    }
  }
}
