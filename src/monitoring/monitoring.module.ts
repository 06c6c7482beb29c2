import { Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller.js';

/**
 * GET /metrics: the scrape. It reads what lives outside the registry (Redis reachability, active
 * users, queue counts through coordination) at scrape time; the registry itself is in metrics/.
 */
@Module({
  imports: [
    // Default metrics go to the app's own registry (MetricsService), not prom-client's global one.
    PrometheusModule.register({ controller: MetricsController, path: '/metrics', defaultMetrics: { enabled: false } }),
  ],
})
export class MonitoringModule {}
