import type { DataSource } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config/app-config.js';
import { openDataSource } from '../../src/database/data-source.js';
import { PgBouncer, type PgBouncerOptions } from './pgbouncer.js';
import { createTestDatabase, type TestDatabase } from './services.js';

/**
 * How the app processes reach PostgreSQL: directly, or with their pool through a PgBouncer in
 * transaction mode (and migrations and LISTEN on DATABASE_DIRECT_URL). The cluster tests run
 * once per topology from one source: `describe.each(topologies())('… ($name)', …)`.
 */
export interface Topology {
  readonly name: 'direct' | 'pgbouncer';
  start(): Promise<void>;
  stop(): Promise<void>;
  /** DATABASE_URL (and DATABASE_DIRECT_URL) for an app process on `db`. */
  env(db: TestDatabase): Record<string, string>;
  /** The PgBouncer in front, in the `pgbouncer` topology. */
  readonly bouncer: PgBouncer | undefined;
}

class Direct implements Topology {
  readonly name = 'direct';
  readonly bouncer = undefined;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  env(db: TestDatabase): Record<string, string> {
    return { DATABASE_URL: db.url };
  }
}

class ThroughPgBouncer implements Topology {
  readonly name = 'pgbouncer';
  private started: PgBouncer | undefined;

  constructor(private readonly options: PgBouncerOptions) {}

  get bouncer(): PgBouncer | undefined {
    return this.started;
  }

  async start(): Promise<void> {
    this.started = await PgBouncer.start(this.options);
  }

  async stop(): Promise<void> {
    await this.started?.stop();
    this.started = undefined;
  }

  env(db: TestDatabase): Record<string, string> {
    if (this.started === undefined) {
      throw new Error('start() the pgbouncer topology first');
    }
    return { DATABASE_URL: this.started.urlFor(db.url), DATABASE_DIRECT_URL: db.url };
  }
}

export function topologies(options: PgBouncerOptions = {}): Topology[] {
  return [new Direct(), new ThroughPgBouncer(options)];
}

export function pgbouncerTopology(options: PgBouncerOptions = {}): Topology {
  return new ThroughPgBouncer(options);
}

/**
 * The app's own DataSource (its pool, its client classes) in `topology`, on a database of the file's
 * own: the topology started and the source opened before the describe's tests, all of it closed,
 * dropped and stopped after them. `env` is added to the topology's variables.
 */
export function withAppDataSource(
  topology: Topology,
  env: Record<string, string>,
): { readonly dataSource: DataSource } {
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
  };
}
