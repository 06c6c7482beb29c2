import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { MetricsService } from '../metrics/metrics.service.js';
import { PINO_LOGGER } from '../common/logger.module.js';
import type { SecurityEventType } from '../common/security-events.constant.js';

export type { SecurityEventType } from '../common/security-events.constant.js';

/** Every access violation is logged as a security event (and counted, where metrics are on). */
@Injectable()
export class SecurityEventsService {
  constructor(
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
  ) {}

  record(type: SecurityEventType, details: Readonly<Record<string, string | undefined>>): void {
    this.logger.warn({ event: 'security', type, ...details }, `security event: ${type}`);
    this.metrics.securityEvents.inc({ type });
  }
}
