import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_SHEDDING, TEST_JWT_SECRET } from './services.js';

export interface EmbeddedDir {
  path: string;
  remove(): void;
}

/** A fresh data folder for an embedded-mode (PGlite) app process. */
export function embeddedDataDir(): EmbeddedDir {
  const path = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Embedded mode: no DATABASE_URL, no REDIS_URL; the test secret so that test tokens verify. */
export function embeddedEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    LOCAL_LLM_DELAY_MS: '0',
    RATE_LIMIT_SENDS: '1000000',
    RATE_LIMIT_READS: '1000000',
    RATE_LIMIT_INVALID_TOKENS: '1000000',
    ...NO_SHEDDING,
    ...extra,
  };
}
