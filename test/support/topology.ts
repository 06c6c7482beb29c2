import type { DataSource } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource } from '../../src/database/data-source.js';
import { PgBouncer, type PgBouncerOptions } from './pgbouncer.js';
import { createTestDatabase, type TestDatabase } from './services.js';

/**
 * How the app processes reach PostgreSQL: directly, or with their pool through a PgBouncer in
 * transaction mode (and migrations and LISTEN on DATABASE_DIRECT_URL), one that keeps no prepared
 * statements (`pgbouncer`: the pool prepares none) or one that keeps them (`pgbouncer-prepared`:
 * PgBouncer 1.21 or later, DATABASE_POOLER_PREPARED_STATEMENTS=true). The cluster tests run once
 * per topology from one source: `describe.each(topologies())('… ($name)', …)`.
 */
export interface Topology {
  readonly name: 'direct' | 'pgbouncer' | 'pgbouncer-prepared';
  /** Whether the pool's connections prepare their statements (on the server they reach). */
  readonly prepares: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** DATABASE_URL (and DATABASE_DIRECT_URL) for an app process on `db`. */
  env(db: TestDatabase): Record<string, string>;
  /** The PgBouncer in front, in the `pgbouncer` topology. */
  readonly bouncer: PgBouncer | undefined;
}

class Direct implements Topology {
  readonly name = 'direct';
  readonly prepares = true;
  readonly bouncer = undefined;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  env(db: TestDatabase): Record<string, string> {
    return { DATABASE_URL: db.url };
  }
}

/** `max_prepared_statements` of the `pgbouncer-prepared` topology's PgBouncer. */
const KEPT_STATEMENTS = 100;

class ThroughPgBouncer implements Topology {
  readonly name: 'pgbouncer' | 'pgbouncer-prepared';
  private started: PgBouncer | undefined;

  constructor(
    private readonly options: PgBouncerOptions,
    readonly prepares: boolean,
  ) {
    this.name = prepares ? 'pgbouncer-prepared' : 'pgbouncer';
  }

  get bouncer(): PgBouncer | undefined {
    return this.started;
  }

  async start(): Promise<void> {
    this.started = await PgBouncer.start({
      ...this.options,
      ...(this.prepares ? { newer: true, maxPreparedStatements: KEPT_STATEMENTS } : {}),
    });
  }

  async stop(): Promise<void> {
    await this.started?.stop();
    this.started = undefined;
  }

  env(db: TestDatabase): Record<string, string> {
    if (this.started === undefined) {
      throw new Error('start() the pgbouncer topology first');
    }
    return {
      DATABASE_URL: this.started.urlFor(db.url),
      DATABASE_DIRECT_URL: db.url,
      ...(this.prepares ? { DATABASE_POOLER_PREPARED_STATEMENTS: 'true' } : {}),
    };
  }
}

export function topologies(options: Omit<PgBouncerOptions, 'newer' | 'maxPreparedStatements'> = {}): Topology[] {
  return [new Direct(), new ThroughPgBouncer(options, false), new ThroughPgBouncer(options, true)];
}

export function pgbouncerTopology(
  options: Omit<PgBouncerOptions, 'newer' | 'maxPreparedStatements'> = {},
  prepares = false,
): Topology {
  return new ThroughPgBouncer(options, prepares);
}

/**
 * The app's own DataSource (its pool, its client classes) in `topology`, on a database of the file's
 * own: the topology started and the source opened before the describe's tests, all of it closed,
 * dropped and stopped after them. `env` is added to the topology's variables.
 */
export function withAppDataSource(
  topology: Topology,
  env: Record<string, string>,
): { readonly dataSource: DataSource; readonly databaseName: string } {
  let db: TestDatabase | undefined;
  let dataSource: DataSource | undefined;
  beforeAll(async () => {
    await topology.start();
    db = await createTestDatabase();
    dataSource = await openDataSource(loadConfig({ ...topology.env(db), ...env }));
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
    await topology.stop();
  });
  return {
    get dataSource(): DataSource {
      if (dataSource === undefined) {
        throw new Error('withAppDataSource: the data source is only there inside tests');
      }
      return dataSource;
    },
    /** The file's database, by name (as PgBouncer's SHOW commands name it). */
    get databaseName(): string {
      if (db === undefined) {
        throw new Error('withAppDataSource: the database is only there inside tests');
      }
      return db.name;
    },
  };
}
