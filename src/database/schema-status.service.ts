import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { PINO_LOGGER } from '../common/logger.module.js';
import { MIGRATIONS } from './migrations/index.js';
import { describeErrorBriefly } from '../common/log-safe-error.js';

/** While the schema is behind, how often to look again, and how often to say that we wait. */
const POLL_MS = 1000;
const WAIT_LOG_EVERY_MS = 60_000;

/**
 * Whether this release's migrations are all applied. A process started with MIGRATE_ON_START=false
 * before the migration Job ran waits here: it stays alive, unready (startup and readiness name
 * `migrations`), and becomes ready by itself once the schema is current. Migrations are additive,
 * so a schema ahead of this release (applied names it does not know) counts as current.
 * It only reads: creating the migrations table is the migrator's job, never a waiting pod's.
 */
@Injectable()
export class SchemaStatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  private pendingNames: readonly string[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWaitLog = 0;
  private stopped = false;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  /** Undefined until first looked at; empty once current. */
  get pending(): readonly string[] | undefined {
    return this.pendingNames;
  }

  get isCurrent(): boolean {
    return this.pendingNames?.length === 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async refresh(): Promise<void> {
    try {
      this.pendingNames = await this.readPending();
    } catch (error) {
      this.logger.warn({ err: describeErrorBriefly(error) }, 'could not read the applied migrations');
    }
    if (this.stopped) {
      return;
    }
    if (this.isCurrent) {
      if (this.lastWaitLog > 0) {
        this.logger.info('schema is current; ready to serve');
      }
      return;
    }
    if (Date.now() - this.lastWaitLog >= WAIT_LOG_EVERY_MS) {
      this.lastWaitLog = Date.now();
      this.logger.warn(
        { pending: this.pendingNames },
        'waiting for the schema to be migrated (npm run migrate / node dist/migrate.js); not ready meanwhile',
      );
    }
    this.timer = setTimeout(() => void this.refresh(), POLL_MS);
    this.timer.unref();
  }

  private async readPending(): Promise<string[]> {
    const [table]: Array<{ present: boolean }> = await this.db.query(
      "SELECT to_regclass('migrations') IS NOT NULL AS present",
    );
    const applied = new Set<string>();
    if (table?.present === true) {
      const rows: Array<{ name: string }> = await this.db.query('SELECT name FROM migrations');
      rows.forEach((row) => applied.add(row.name));
    }
    return MIGRATIONS.map((migration) => migration.name).filter((name) => !applied.has(name));
  }
}
