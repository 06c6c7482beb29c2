import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyInstance } from 'fastify';

/** Readiness reports overload, so that the load balancer sends traffic elsewhere meanwhile. */
@Injectable()
export class LoadHealthIndicator {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): HealthIndicatorResult<'load'> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance & { isUnderPressure?: () => boolean }>();
    const indicator = this.health.check('load');
    return fastify.isUnderPressure?.() === true ? indicator.down({ message: 'overloaded' }) : indicator.up();
  }
}
