import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './app-config.js';
import type { Env } from './config.variables.js';

/** Every variable name loadConfig reads from `env`, with the values given and nothing else set. */
function variablesRead(values: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') {
        read.add(name);
      }
      return target[name as string];
    },
  }) as Env;
  loadConfig(env);
  return read;
}

const root = join(import.meta.dirname, '../..');
const READ = (): Set<string> =>
  new Set([
    ...variablesRead({}),
    ...variablesRead({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://parley@db/parley',
      REDIS_URL: 'redis://redis:6379',
      JWT_SECRET: 'x'.repeat(32),
      METRICS_TOKEN: 'scrape-token',
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: 'http://llm:8000/v1',
    }),
  ]);

describe('the configuration documentation', () => {
  it('.env.example documents every variable Parley reads', () => {
    const documented = new Set(
      readFileSync(join(root, '.env.example'), 'utf8')
        .split('\n')
        .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
        .filter((name) => name !== undefined),
    );
    const read = READ();
    expect(read.size).toBeGreaterThan(30);
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('the README names every variable Parley reads', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect([...READ()].filter((name) => !readme.includes(`\`${name}\``)).sort()).toEqual([]);
  });
});
