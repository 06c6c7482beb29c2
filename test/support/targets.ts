import { startApp, startCluster, stopAll } from './cluster.js';
import { embeddedDataDir, embeddedEnv } from './embedded.js';
import { createTestDatabase, productionEnv, uniqueName } from './services.js';
import { tokenFor } from './tokens.js';

/**
 * What the contract suites (test/memory/*.suite.ts) run against: one or more app processes sharing
 * one database, a token for any user, and a way to stop them.
 */
export interface SuiteTarget {
  /** The first process's. */
  url: string;
  urls: string[];
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** `count` processes in production mode on a database of their own and the shared Redis. */
export async function startProductionTarget(count: number, env: Record<string, string> = {}): Promise<SuiteTarget> {
  const database = await createTestDatabase();
  const cluster = await startCluster(count, productionEnv(database, uniqueName('t'), env));
  return {
    url: cluster.url(0),
    urls: cluster.urls,
    token: (userId) => tokenFor(userId),
    close: async () => {
      await cluster.stop();
      await database.drop();
    },
  };
}

/** One process in embedded mode (PGlite, in-process coordination) in a data folder of its own. */
export async function startEmbeddedTarget(env: Record<string, string> = {}): Promise<SuiteTarget> {
  const dir = embeddedDataDir();
  // PGlite's first start (initdb in WebAssembly) is slow on a busy machine.
  const app = await startApp({ env: embeddedEnv(dir.path, env), timeoutMs: 60_000 });
  return {
    url: app.url,
    urls: [app.url],
    token: (userId) => tokenFor(userId),
    close: async () => {
      await stopAll([app]);
      dir.remove();
    },
  };
}
