import { afterAll, beforeAll } from 'vitest';
import { startApp, stopAll, type AppProcess, type Cluster } from './cluster.js';
import { FakeOpenAi } from './fake-openai.js';
import { PrivateRedis } from './private-redis.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from './services.js';
import type { Topology } from './topology.js';

export type ProcessRole = 'api' | 'worker';

/** One process of a cluster: its APP_ROLE (both roles when left out) and variables of its own. */
export interface ProcessSpec {
  role?: ProcessRole;
  env?: Record<string, string>;
}

export interface ClusterFixture {
  /** Valid inside tests (set by the file's beforeAll). */
  readonly cluster: Cluster;
  /** The first process: the only one of `withCluster(1, …)`. */
  readonly app: AppProcess;
  readonly db: TestDatabase;
  /** The file's own Redis server, with `privateRedis: true`. */
  readonly redis: PrivateRedis;
  /** The fake OpenAI-compatible model the processes talk to, with `fakeOpenAi`. */
  readonly fake: FakeOpenAi;
  /** The env every process was started with (before a spec's own role and variables). */
  readonly env: Record<string, string>;
  /** The processes started with `role` (at start and by `start`) that have not exited, in the order they started. */
  processes(role: ProcessRole): AppProcess[];
  /** Starts one more process with the file's env (and the spec's); it is stopped with the others after the file. */
  start(spec?: ProcessSpec): Promise<AppProcess>;
}

export interface ClusterOptions {
  /** How the processes reach PostgreSQL: started first, its env given to the processes, stopped last. */
  topology?: Topology;
  /** A Redis server of the file's own (for tests that stop it) instead of the shared one. */
  privateRedis?: boolean;
  /**
   * A fake OpenAI-compatible model of the file's own (`fx.fake`), started before the processes and
   * stopped after them; the processes get LLM_PROVIDER=openai and its LLM_BASE_URL.
   */
  fakeOpenAi?: boolean | Partial<Pick<FakeOpenAi, 'tokenDelayMs' | 'route'>>;
}

/**
 * The set-up most cluster test files share: a database of their own, app processes in production
 * mode against it and the shared Redis (a key prefix of their own), stopped and dropped after the
 * file. `processes` is a count of processes with both roles, or one spec a process (`[{ role: 'api' },
 * { role: 'worker' }]`). `env` is added to productionEnv() (after the topology's, the private Redis's
 * and the fake model's variables); a function gets the database first.
 */
export function withCluster(
  processes: number | readonly ProcessSpec[],
  env: Record<string, string> | ((db: TestDatabase) => Record<string, string>) = {},
  options: ClusterOptions = {},
): ClusterFixture {
  const specs: readonly ProcessSpec[] =
    typeof processes === 'number' ? Array.from({ length: processes }, () => ({})) : processes;
  let db: TestDatabase | undefined;
  let redis: PrivateRedis | undefined;
  let fake: FakeOpenAi | undefined;
  let shared: Record<string, string> | undefined;
  let cluster: Cluster | undefined;
  const started: Array<{ app: AppProcess; role: ProcessRole | undefined }> = [];
  const start = async (spec: ProcessSpec = {}): Promise<AppProcess> => {
    const app = await startApp({
      env: {
        ...present(shared, 'env'),
        ...(spec.role === undefined ? {} : { APP_ROLE: spec.role }),
        ...spec.env,
      },
    });
    started.push({ app, role: spec.role });
    return app;
  };
  beforeAll(async () => {
    await options.topology?.start();
    db = await createTestDatabase();
    if (options.privateRedis === true) {
      redis = await PrivateRedis.start();
    }
    if (options.fakeOpenAi !== undefined && options.fakeOpenAi !== false) {
      fake = await FakeOpenAi.start();
      if (options.fakeOpenAi !== true) {
        fake.tokenDelayMs = options.fakeOpenAi.tokenDelayMs ?? 0;
        fake.route = options.fakeOpenAi.route;
      }
    }
    const extra = typeof env === 'function' ? env(db) : env;
    shared = productionEnv(db, uniqueName('t'), {
      ...options.topology?.env(db),
      ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
      ...(fake === undefined ? {} : { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl }),
      ...extra,
    });
    const results = await Promise.allSettled(specs.map((spec) => start(spec)));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) {
      throw failure.reason;
    }
    const apps = results.map((result) => (result as PromiseFulfilledResult<AppProcess>).value);
    cluster = {
      apps,
      urls: apps.map((app) => app.url),
      url: (index) => (apps[index % apps.length] as AppProcess).url,
      stop: () => stopAll(apps),
    };
  });
  afterAll(async () => {
    await stopAll(started.map((entry) => entry.app));
    await fake?.stop();
    await redis?.stop();
    await db?.drop();
    await options.topology?.stop();
  });
  return {
    get cluster(): Cluster {
      return present(cluster, 'cluster');
    },
    get app(): AppProcess {
      return present(cluster?.apps[0], 'app process');
    },
    get db(): TestDatabase {
      return present(db, 'database');
    },
    get redis(): PrivateRedis {
      return present(redis, 'private Redis (privateRedis: true)');
    },
    get fake(): FakeOpenAi {
      return present(fake, 'fake model (fakeOpenAi)');
    },
    get env(): Record<string, string> {
      return present(shared, 'env');
    },
    processes: (role) =>
      started
        .filter(({ app, role: own }) => own === role && app.child.exitCode === null && app.child.signalCode === null)
        .map((entry) => entry.app),
    start,
  };
}

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`withCluster: the ${what} is only there inside tests`);
  }
  return value;
}
