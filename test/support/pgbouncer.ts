import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './ports.js';
import { POSTGRES_ADMIN_URL } from './services.js';

export interface PgBouncerOptions {
  /** Server connections per database and user: what PostgreSQL sees, whatever the clients. */
  readonly defaultPoolSize?: number;
  /**
   * A PgBouncer of 1.21 or later (the one .ci/install-newer-pgbouncer installs), which can keep
   * prepared statements, rather than the machine's own (Debian's 1.18), which cannot.
   */
  readonly newer?: boolean;
  /** `max_prepared_statements` of the newer PgBouncer: 0 (the default here) keeps none. */
  readonly maxPreparedStatements?: number;
}

/** Where .ci/install-newer-pgbouncer puts its PgBouncer (PARLEY_NEWER_PGBOUNCER_DIR moves it). */
const NEWER_BINARY = join(
  process.env.PARLEY_NEWER_PGBOUNCER_DIR ?? '/usr/local/lib/parley-pgbouncer',
  'bin',
  'pgbouncer',
);

/** One row of PgBouncer's `SHOW POOLS`. */
export interface PoolRow {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  sv_used: number;
  sv_tested: number;
  sv_login: number;
}

function findBinary(newer: boolean): string {
  if (newer) {
    try {
      accessSync(NEWER_BINARY, constants.X_OK);
      return NEWER_BINARY;
    } catch {
      throw new Error(
        `no PgBouncer that keeps prepared statements at ${NEWER_BINARY}: run .ci/install-newer-pgbouncer (.ci/run does)`,
      );
    }
  }
  for (const candidate of [
    '/usr/sbin/pgbouncer',
    ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'pgbouncer')),
  ]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  throw new Error('pgbouncer is not installed (Debian package "pgbouncer"; .ci/run installs it)');
}

/** PgBouncer refuses to run as root: as root, run it as the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A PgBouncer of the test's own, in transaction mode, in front of the shared PostgreSQL (every
 * database of it, by name), on a free port; its files live in a temporary folder. It sets no
 * `ignore_startup_parameters`: a client sending a startup parameter it refuses fails to connect.
 */
export class PgBouncer {
  private child: ChildProcess | undefined;
  private readonly lines: string[] = [];

  private constructor(
    readonly port: number,
    readonly defaultPoolSize: number,
    private readonly newer: boolean,
    readonly maxPreparedStatements: number,
    private readonly dir: string,
  ) {}

  static async start(options: PgBouncerOptions = {}): Promise<PgBouncer> {
    const dir = mkdtempSync(join(tmpdir(), 'parley-pgbouncer-'));
    chmodSync(dir, 0o755);
    const bouncer = new PgBouncer(
      await freePort(),
      options.defaultPoolSize ?? 6,
      options.newer === true,
      options.maxPreparedStatements ?? 0,
      dir,
    );
    await bouncer.launch();
    return bouncer;
  }

  /** The same database as `databaseUrl`, reached through this PgBouncer. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** The PostgreSQL backend pids of the server connections PgBouncer holds for `database`. */
  async servers(database: string): Promise<number[]> {
    const rows = await this.show('SERVERS');
    return rows
      .filter((row) => row.database === database)
      .map((row) => Number(row.remote_pid))
      .sort((a, b) => a - b);
  }

  /** `SHOW POOLS` on the admin console, for the pools of `database`. */
  async pools(database: string): Promise<PoolRow[]> {
    const rows = await this.show('POOLS');
    return rows
      .filter((row) => row.database === database)
      .map((row) => ({
        database: String(row.database),
        user: String(row.user),
        cl_active: Number(row.cl_active),
        cl_waiting: Number(row.cl_waiting),
        sv_active: Number(row.sv_active),
        sv_idle: Number(row.sv_idle),
        sv_used: Number(row.sv_used),
        sv_tested: Number(row.sv_tested),
        sv_login: Number(row.sv_login),
      }));
  }

  /**
   * `SHOW STATS` for `database`: among its counts (PgBouncer 1.21 and later) the Parse messages its
   * clients sent (`total_client_parse_count`) and those it sent to PostgreSQL (`total_server_parse_count`).
   */
  async stats(database: string): Promise<Record<string, number>> {
    const row = (await this.show('STATS')).find((stats) => stats.database === database) ?? {};
    return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Number(value)]));
  }

  private async show(what: 'POOLS' | 'SERVERS' | 'STATS'): Promise<Array<Record<string, string>>> {
    const console = new URL(this.urlFor(POSTGRES_ADMIN_URL));
    console.pathname = '/pgbouncer';
    const admin = new pg.Client({ connectionString: console.toString() });
    await admin.connect();
    try {
      return (await admin.query<Record<string, string>>(`SHOW ${what}`)).rows;
    } finally {
      await admin.end();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const upstream = new URL(POSTGRES_ADMIN_URL);
    const user = decodeURIComponent(upstream.username || 'postgres');
    const ini = join(this.dir, 'pgbouncer.ini');
    const users = join(this.dir, 'userlist.txt');
    writeFileSync(users, `"${user}" ""\n`, { mode: 0o644 });
    writeFileSync(
      ini,
      [
        '[databases]',
        `* = host=${upstream.hostname} port=${upstream.port || '5432'}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${users}`,
        `admin_users = ${user}`,
        'pool_mode = transaction',
        `default_pool_size = ${this.defaultPoolSize}`,
        'reserve_pool_size = 0',
        'max_client_conn = 2000',
        'server_lifetime = 3600',
        // Unknown to 1.18; the newer one keeps 200 by default.
        ...(this.newer ? [`max_prepared_statements = ${this.maxPreparedStatements}`] : []),
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const child = spawn(findBinary(this.newer), [ini], { stdio: ['ignore', 'pipe', 'pipe'], ...runAs() });
    this.child = child;
    const collect = (chunk: Buffer): void => {
      this.lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      this.lines.splice(0, Math.max(0, this.lines.length - 200));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    for (let i = 0; i < 100; i += 1) {
      if (child.exitCode !== null) {
        break;
      }
      const probe = new pg.Client({ connectionString: this.urlFor(POSTGRES_ADMIN_URL) });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.query('SELECT 1');
        await probe.end();
        return;
      } catch {
        await probe.end().catch(() => undefined);
        await sleep(100);
      }
    }
    await this.stop();
    throw new Error(`pgbouncer on ${this.port} did not start:\n${this.output()}`);
  }
}
