import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';

const TIMEOUT_MS = 1500;

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): Promise<HealthIndicatorResult<'database'>> {
    return Promise.resolve(
      this.health
        .check('database')
        .attempt(async () => {
          await this.db.query('SELECT 1');
        })
        .withTimeout(TIMEOUT_MS),
    );
  }

  migrations(): Promise<HealthIndicatorResult<'migrations'>> {
    return Promise.resolve(
      this.health
        .check('migrations')
        .attempt(async () => {
          if (await this.db.showMigrations()) {
            throw new Error('migrations pending');
          }
        })
        .withTimeout(TIMEOUT_MS)
        .cacheFor(5000),
    );
  }
}
