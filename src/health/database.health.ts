import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { poolOf } from '../database/pool-metrics.js';
import { SchemaStatusService } from '../database/schema-status.service.js';

const TIMEOUT_MS = 1500;

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly schema: SchemaStatusService,
    private readonly health: HealthIndicatorService,
  ) {}

  /**
   * Whether this pod reaches the database. A pool whose every connection is busy and has requests
   * queued is reaching it (and sheds those requests one by one, 503 overloaded): readiness must
   * not flip for load, so it is reported, not queued behind them.
   */
  check(): Promise<HealthIndicatorResult<'database'>> {
    const pool = poolOf(this.db);
    if (pool !== undefined && pool.totalCount > 0 && pool.idleCount === 0 && pool.waitingCount > 0) {
      return Promise.resolve(
        this.health
          .check('database')
          .up({ pool: 'saturated', connections: pool.totalCount, waiting: pool.waitingCount }),
      );
    }
    return Promise.resolve(
      this.health
        .check('database')
        .attempt(async () => {
          await this.db.query('SELECT 1');
        })
        .withTimeout(TIMEOUT_MS),
    );
  }

  /** Down while this release's migrations are not all applied (see SchemaStatusService). */
  migrations(): HealthIndicatorResult<'migrations'> {
    const indicator = this.health.check('migrations');
    const pending = this.schema.pending;
    if (pending === undefined) {
      return indicator.down({ message: 'schema not checked yet' });
    }
    return pending.length === 0
      ? indicator.up()
      : indicator.down({ message: 'schema behind: waiting for migrations', pending: [...pending] });
  }
}
