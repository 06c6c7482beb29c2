import { describe, expect, it } from 'vitest';
import { loadConfig } from './app-config.js';
import { ConfigError } from './config.variables.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@db:5432/parley',
  REDIS_URL: 'redis://redis:6379',
  JWT_SECRET: 'x'.repeat(40),
  METRICS_TOKEN: 'scrape-token',
};

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to embedded mode with dev tokens and the documented defaults', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('embedded');
    expect(config.auth.devTokens).toBe(true);
    expect(config.http).toMatchObject({ requestTimeoutMs: 30_000, idleTimeoutMs: 120_000, maxConnections: 10_000 });
    expect(config.auth.maxTtlSeconds).toBe(86_400);
    expect(config.limits.invalidTokensPerMinute).toBe(20);
    // Embedded mode hands out dev tokens: it listens on this machine only unless HOST says otherwise.
    expect(config.http).toMatchObject({ port: 3000, host: '127.0.0.1', trustProxy: false });
    expect(config.http.corsOrigins).toEqual(['http://localhost:*', 'http://127.0.0.1:*']);
    expect(config.webClient.enabled).toBe(true);
    expect(config.events.ticketTtlMs).toBe(300_000);
    expect(config.limits).toMatchObject({
      sendsPerMinute: 30,
      readsPerMinute: 300,
      devTokensPerMinute: 10,
      maxPendingReplies: 3,
    });
    expect(config.limits).toMatchObject({ windowMs: 60_000, expectedReplicas: 3, maxMemoriesPerUser: 1000 });
    expect(config.shedding).toEqual({
      sendsEventLoopDelayMs: 200,
      readsEventLoopDelayMs: 1000,
      maxHeapBytes: 0,
      maxRssBytes: 0,
    });
    expect(config.replies.waitMs).toBe(30_000);
    expect(config.cache).toEqual({
      enabled: true,
      size: 10_000,
      maxBytes: 64 * 1024 * 1024,
      maxEntryBytes: 256 * 1024,
      ttlSeconds: 300,
      lockTtlMs: 5000,
      lockWaitMs: 2000,
      redisTimeoutMs: 1000,
    });
    expect(config.shutdown.graceMs).toBe(10_000);
  });

  it('is production mode with REDIS_URL set, and turns dev tokens off there', () => {
    const config = loadConfig({ DATABASE_URL: PRODUCTION.DATABASE_URL, REDIS_URL: PRODUCTION.REDIS_URL });
    expect(config.mode).toBe('production');
    expect(config.auth.devTokens).toBe(false);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.corsOrigins).toEqual([]);
  });

  it('serves the reference page outside production, and in production only when WEB_CLIENT_ENABLED=true', () => {
    expect(loadConfig(PRODUCTION).webClient.enabled).toBe(false);
    expect(loadConfig({ ...PRODUCTION, WEB_CLIENT_ENABLED: 'true' }).webClient.enabled).toBe(true);
    expect(loadConfig({ WEB_CLIENT_ENABLED: 'false' }).webClient.enabled).toBe(false);
  });

  it('reads CORS_ORIGINS as exact origins (or any port of a host); set but empty means none', () => {
    const origins = 'https://app.example.com, http://localhost:5173,http://127.0.0.1:*';
    expect(loadConfig({ ...PRODUCTION, CORS_ORIGINS: origins }).http.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
      'http://127.0.0.1:*',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '' }).http.corsOrigins).toEqual([]);
    expect(loadConfig({ HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
  });

  it.each([
    '*',
    'https://app.example.com/',
    'https://app.example.com/path',
    'app.example.com',
    'ftp://files.example.com',
    'https://App.example.com',
    'https://app.example.com:443',
    'https://*.example.com',
  ])('stops on the malformed CORS origin %s, naming the variable', (origin) => {
    expect(failure({ CORS_ORIGINS: `https://ok.example.com,${origin}` }).message).toMatch(
      /^Invalid configuration: CORS_ORIGINS .*got "/,
    );
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ AUTH_DEV_TOKENS: 'maybe' }, 'AUTH_DEV_TOKENS'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ APP_ROLE: 'boss' }, 'APP_ROLE'],
    [{ RATE_LIMIT_WINDOW_MS: '10' }, 'RATE_LIMIT_WINDOW_MS'],
    [{ RATE_LIMIT_EXPECTED_REPLICAS: '0' }, 'RATE_LIMIT_EXPECTED_REPLICAS'],
    [
      { SHED_SENDS_EVENT_LOOP_DELAY_MS: '500', SHED_READS_EVENT_LOOP_DELAY_MS: '400' },
      'SHED_READS_EVENT_LOOP_DELAY_MS',
    ],
    [{ SHED_MAX_HEAP_BYTES: '-1' }, 'SHED_MAX_HEAP_BYTES'],
    [{ REDIS_URL: 'redis://r:6379' }, 'DATABASE_URL'],
    [{ NODE_ENV: 'production', DATABASE_URL: PRODUCTION.DATABASE_URL }, 'REDIS_URL'],
    [{ ...PRODUCTION, AUTH_DEV_TOKENS: 'true' }, 'AUTH_DEV_TOKENS'],
    [{ ...PRODUCTION, JWT_SECRET: '' }, 'JWT_SECRET'],
    // /metrics is public by default in production: start refuses without its token.
    [{ ...PRODUCTION, METRICS_TOKEN: '' }, 'METRICS_TOKEN'],
    [{ HTTP_IDLE_TIMEOUT_MS: '20000' }, 'HTTP_IDLE_TIMEOUT_MS'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '0' }, 'HTTP_REQUEST_TIMEOUT_MS'],
    [{ HTTP_MAX_CONNECTIONS: '0' }, 'HTTP_MAX_CONNECTIONS'],
    [{ HTTP_LISTEN_BACKLOG: '0' }, 'HTTP_LISTEN_BACKLOG'],
    [{ HTTP_LISTEN_SOCKETS: '0' }, 'HTTP_LISTEN_SOCKETS'],
    [{ JWT_MAX_TTL_SECONDS: '1e9' }, 'JWT_MAX_TTL_SECONDS'],
  ])('refuses %j naming %s in one line', (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
    expect(error.message).not.toContain('\n');
  });

  it('starts in production with everything it requires, METRICS_TOKEN included', () => {
    expect(loadConfig(PRODUCTION).metricsToken).toBe('scrape-token');
  });

  it('accepts a hop count or proxy list for TRUST_PROXY', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });
});
