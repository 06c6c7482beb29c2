import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LifecycleService } from '../common/lifecycle.service.js';

@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): HealthIndicatorResult<'lifecycle'> {
    const indicator = this.health.check('lifecycle');
    return this.lifecycle.isShuttingDown ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}
