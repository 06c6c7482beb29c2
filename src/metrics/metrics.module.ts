import { Global, Module } from '@nestjs/common';
import { ActiveUsersService } from './active-users.service.js';
import { MetricsService } from './metrics.service.js';
import { RequestStatsService } from './request-stats.service.js';

/**
 * The Prometheus registry and what feeds it from every request (infrastructure, global). What is
 * read only at scrape time, and the scrape route itself, is in monitoring/.
 */
@Global()
@Module({
  providers: [MetricsService, RequestStatsService, ActiveUsersService],
  exports: [MetricsService, RequestStatsService, ActiveUsersService],
})
export class MetricsModule {}
