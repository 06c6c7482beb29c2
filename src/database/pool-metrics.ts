import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** What pg's Pool tells about itself. */
export interface PoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** The pg Pool behind the DataSource (TypeORM keeps it as the driver's `master`). */
export function poolOf(dataSource: DataSource): PoolCounts | undefined {
  const pool = (dataSource.driver as unknown as { master?: Partial<PoolCounts> }).master;
  return typeof pool?.totalCount === 'number' ? (pool as PoolCounts) : undefined;
}

/**
 * The pool's occupancy, read at each scrape: `parley_db_pool_connections{state}` (total, idle,
 * waiting: requests queued for a connection) and `parley_db_pool_max` (DATABASE_POOL_SIZE), per
 * process, so that saturation can be alerted on before requests are shed.
 */
@Injectable()
export class DatabasePoolMetrics {
  constructor(@Inject(DataSource) dataSource: DataSource, config: AppConfig, metrics: MetricsService) {
    new Gauge({
      name: 'parley_db_pool_connections',
      help: 'PostgreSQL pool of this process: connections open (total), of which idle, and requests waiting for one',
      labelNames: ['state'] as const,
      registers: [metrics.registry],
      collect() {
        const pool = poolOf(dataSource);
        this.set({ state: 'total' }, pool?.totalCount ?? 0);
        this.set({ state: 'idle' }, pool?.idleCount ?? 0);
        this.set({ state: 'waiting' }, pool?.waitingCount ?? 0);
      },
    });
    new Gauge({
      name: 'parley_db_pool_max',
      help: 'PostgreSQL connections this process may open (DATABASE_POOL_SIZE)',
      registers: [metrics.registry],
    }).set(config.database.poolSize);
  }
}
