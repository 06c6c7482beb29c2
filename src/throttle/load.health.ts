import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyInstance } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import { currentLoad, measuredDelayMs, overloadReason } from './load-shedding.js';

const MB = 1024 * 1024;

/**
 * Readiness reports overload (from the point where sends are shed) as `degraded`, without failing:
 * overload is answered by shedding requests one by one (503 overloaded), not by pulling pods out
 * of the Service, which under a load spread over all of them would take many out together.
 */
@Injectable()
export class LoadHealthIndicator {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly health: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  check(): HealthIndicatorResult<'load'> {
    const indicator = this.health.check('load');
    const sample = currentLoad(this.adapterHost.httpAdapter.getInstance<FastifyInstance>());
    const reason = sample === undefined ? undefined : overloadReason(sample, this.config, 'sends');
    if (sample === undefined || reason === undefined) {
      return indicator.up();
    }
    return indicator.degraded({
      message: 'overloaded',
      reason,
      eventLoopDelayMs: Math.round(measuredDelayMs(sample)),
      // No sample landed in the last interval: the delay was at least that interval.
      eventLoopSampled: Number.isFinite(sample.eventLoopDelay),
      heapUsedMb: Math.round(sample.heapUsed / MB),
      rssMb: Math.round(sample.rssBytes / MB),
    });
  }
}
