import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { ActiveUsersService } from './active-users.service.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsService } from './metrics.service.js';
import { RequestStatsService } from './request-stats.service.js';

@Global()
@Module({
  imports: [
    // Default metrics go to the app's own registry (MetricsService), not prom-client's global one.
    PrometheusModule.register({ controller: MetricsController, path: '/metrics', defaultMetrics: { enabled: false } }),
  ],
  providers: [MetricsService, RequestStatsService, ActiveUsersService],
  exports: [MetricsService, RequestStatsService, ActiveUsersService],
})
export class MetricsModule {}
