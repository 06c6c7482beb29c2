import { ConfigError, EnvReader, type Env } from './config.variables.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type AppRole = 'api' | 'worker' | 'all';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LlmProviderName = 'local' | 'openai';
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';
export type TrustProxy = boolean | number | string[];

/** The whole validated configuration; injected by class token, never read from process.env elsewhere. */
export class AppConfig {
  readonly nodeEnv: NodeEnv;
  /** `production` when NODE_ENV=production or REDIS_URL is set; `embedded` otherwise. */
  readonly mode: 'production' | 'embedded';
  readonly role: AppRole;
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly trustProxy: TrustProxy;
    readonly bodyLimitBytes: number;
    /**
     * Browser origins allowed by CORS: exact origins (`https://app.example.com`), or a host with any
     * port (`http://localhost:*`). Empty: no cross-origin access.
     */
    readonly corsOrigins: readonly string[];
    /** Longest time to receive a whole request (headers and body); then 408 and the socket closes. */
    readonly requestTimeoutMs: number;
    /** A socket with no traffic either way for this long is closed (a client that stopped reading). */
    readonly idleTimeoutMs: number;
    /** Open connections per process; more are refused at accept. */
    readonly maxConnections: number;
    /**
     * New connections the kernel completes and holds while the process is too busy to accept them
     * (Linux caps it at net.core.somaxconn). Past it, a connection's SYN is dropped and the client
     * retries only after a second, then three.
     */
    readonly listenBacklog: number;
    /**
     * Listening sockets on the port (SO_REUSEPORT, Linux): each accepts one new connection per
     * event-loop turn, so a busy process takes in a burst of connections this many times faster.
     */
    readonly listenSockets: number;
  };
  /** The reference chat page at `/`. */
  readonly webClient: {
    readonly enabled: boolean;
  };
  readonly database: {
    /** Unset means the embedded PGlite engine in `dataDir`. */
    readonly url: string | undefined;
    /**
     * A direct PostgreSQL connection for what needs a session (the migrations under their advisory
     * lock, the LISTEN of the cache bump relay), when `url` points at PgBouncer in transaction mode.
     * Equal to `url` when unset.
     */
    readonly directUrl: string | undefined;
    /**
     * `url` is a PgBouncer (1.21 or later, `max_prepared_statements` above 0) that keeps prepared
     * statements in transaction mode: the pool prepares its statements through it, as it does
     * straight to PostgreSQL. Checked when the pool opens (data-source.ts).
     */
    readonly poolerPreparedStatements: boolean;
    /** False: this process never migrates; it waits, not ready, until the schema is current. */
    readonly migrateOnStart: boolean;
    /** Longest wait for another process's migrations (their advisory lock) before giving up. */
    readonly migrationLockTimeoutMs: number;
    readonly poolSize: number;
    readonly connectTimeoutMs: number;
    readonly statementTimeoutMs: number;
    readonly dataDir: string;
  };
  readonly redis: {
    /** Unset means in-process coordination (one process only). */
    readonly url: string | undefined;
    readonly keyPrefix: string;
  };
  readonly auth: {
    readonly jwtSecret: string | undefined;
    readonly jwksUrl: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly devTokens: boolean;
    /** Longest token lifetime accepted (`exp - iat`); a longer one is refused as invalid. */
    readonly maxTtlSeconds: number;
  };
  readonly limits: {
    readonly sendsPerMinute: number;
    readonly readsPerMinute: number;
    readonly devTokensPerMinute: number;
    /** Invalid or forged tokens per client IP per window; past it that IP's unknown tokens get 429. */
    readonly invalidTokensPerMinute: number;
    readonly maxPendingReplies: number;
    /** Memories kept per user; a write past it is refused (409), never silently dropped. */
    readonly maxMemoriesPerUser: number;
    /** Sessions kept per user; creating one more is refused (409), exactly across replicas. */
    readonly maxSessionsPerUser: number;
    readonly windowMs: number;
    /** Without Redis each replica enforces limit / expectedReplicas on its own (fail open). */
    readonly expectedReplicas: number;
  };
  readonly shedding: {
    /** Sends are shed (503) past this mean event-loop delay; reads past the higher readsEventLoopDelayMs. */
    readonly sendsEventLoopDelayMs: number;
    readonly readsEventLoopDelayMs: number;
    /** 0 turns the memory checks off; reads are shed at 1.2 times these. */
    readonly maxHeapBytes: number;
    readonly maxRssBytes: number;
  };
  readonly llm: {
    readonly provider: LlmProviderName;
    readonly baseUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly localDelayMs: number;
    /** Longest wait for the first byte and between two chunks of a streamed answer. */
    readonly timeoutMs: number;
    /** Upstream calls in flight at once in this process. */
    readonly maxConcurrent: number;
    readonly maxOutputTokens: number;
    /**
     * The request field that carries maxOutputTokens: `max_tokens` (what every OpenAI-compatible
     * server accepts) or `max_completion_tokens` (required by OpenAI's reasoning models).
     */
    readonly maxTokensField: MaxTokensField;
    readonly systemPrompt: string;
    /** Estimated tokens the prompt (system prompt, memories, history) may hold. */
    readonly promptTokenBudget: number;
    /** Tries per reply delivery; transient failures are retried with backoff and jitter. */
    readonly maxTries: number;
    readonly retryBaseMs: number;
  };
  readonly replies: {
    readonly waitMs: number;
    readonly concurrency: number;
    readonly lockTtlMs: number;
    /** Bull's job lock: a worker that stops renewing it for this long has its job handed to another. */
    readonly jobLockMs: number;
    readonly reconcileIntervalMs: number;
    /** In a `coalesce` session, how long a new pending reply waits for more messages before it starts. */
    readonly coalesceWindowMs: number;
  };
  readonly events: {
    readonly streamMaxLength: number;
    readonly streamTtlMs: number;
    readonly sseHeartbeatMs: number;
    /** Open event streams per user over every replica; the next one is 429 too_many_streams. */
    readonly sseMaxStreamsPerUser: number;
    /** Lifetime of a stream ticket (the browser EventSource's credential). */
    readonly ticketTtlMs: number;
  };
  readonly cache: {
    /** False: every cached read goes to the database (writes still bump versions when Redis is set). */
    readonly enabled: boolean;
    /** In-process tier bounds: entries and (approximate) bytes of the serialised values. */
    readonly size: number;
    readonly maxBytes: number;
    /**
     * Largest value (UTF-8 bytes of its JSON) stored in either tier: a larger one is served but
     * not cached, so no single response can fill the shared Redis.
     */
    readonly maxEntryBytes: number;
    readonly ttlSeconds: number;
    /** The single-flight fill lock's TTL, and how long other requests wait for a fill before reading the database. */
    readonly lockTtlMs: number;
    readonly lockWaitMs: number;
    /** The longest one cache call to Redis (a version read or bump, a value, a fill lock) waits; past it the request reads the database. */
    readonly redisTimeoutMs: number;
  };
  readonly logLevel: LogLevel;
  readonly metricsToken: string | undefined;
  /** Liveness fails when the event loop stalled longer than this within the last few seconds. */
  readonly livenessMaxEventLoopDelayMs: number;
  readonly shutdown: {
    readonly graceMs: number;
    readonly drainDelayMs: number;
  };

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}

const ONE_HOUR_MS = 3_600_000;
const DEFAULT_SYSTEM_PROMPT = 'You are Parley, a helpful assistant. Answer clearly and concisely.';

function parseTrustProxy(reader: EnvReader): TrustProxy {
  const value = reader.optional('TRUST_PROXY');
  if (value === undefined || value === 'false') {
    return false;
  }
  if (value === 'true') {
    throw new ConfigError('TRUST_PROXY', 'must be a hop count or a list of proxy addresses/CIDRs, not "true"');
  }
  if (/^\d+$/.test(value)) {
    return Number(value);
  }
  return value.split(',').map((part) => part.trim());
}

/** In embedded mode a front-end on this machine works at once, whatever its port. */
const EMBEDDED_CORS_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*'];
const ORIGIN_WITH_ANY_PORT = /^(https?:\/\/[a-z0-9.-]+):\*$/;

/**
 * CORS_ORIGINS: comma-separated exact origins (scheme, host, optional port; no path, no slash), or
 * `scheme://host:*` for any port. Set but empty: none. Unset: none, or localhost in embedded mode.
 */
function parseCorsOrigins(env: Env, mode: AppConfig['mode']): string[] {
  const value = env.CORS_ORIGINS;
  if (value === undefined) {
    return mode === 'embedded' ? EMBEDDED_CORS_ORIGINS : [];
  }
  const origins = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  for (const origin of origins) {
    const anyPort = ORIGIN_WITH_ANY_PORT.exec(origin);
    const exact = anyPort?.[1] ?? origin;
    let parsed: URL | undefined;
    try {
      parsed = new URL(exact);
    } catch {
      parsed = undefined;
    }
    const valid =
      parsed !== undefined &&
      ['http:', 'https:'].includes(parsed.protocol) &&
      parsed.origin === exact &&
      /^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/.test(parsed.hostname);
    if (!valid) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `must be comma-separated origins like https://app.example.com or http://localhost:* (got "${origin}")`,
      );
    }
  }
  return origins;
}

/** Sends are shed first: the reads threshold may not be below the sends one. */
function parseShedding(reader: EnvReader): AppConfig['shedding'] {
  const sendsEventLoopDelayMs = reader.int('SHED_SENDS_EVENT_LOOP_DELAY_MS', 200, 1, 600_000);
  const readsEventLoopDelayMs = reader.int('SHED_READS_EVENT_LOOP_DELAY_MS', 1000, 1, 600_000);
  if (readsEventLoopDelayMs < sendsEventLoopDelayMs) {
    throw new ConfigError(
      'SHED_READS_EVENT_LOOP_DELAY_MS',
      `must not be below SHED_SENDS_EVENT_LOOP_DELAY_MS (${sendsEventLoopDelayMs}); reads are shed after sends`,
    );
  }
  return {
    sendsEventLoopDelayMs,
    readsEventLoopDelayMs,
    maxHeapBytes: reader.int('SHED_MAX_HEAP_BYTES', 0, 0, Number.MAX_SAFE_INTEGER),
    maxRssBytes: reader.int('SHED_MAX_RSS_BYTES', 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * The connections' limits. A slowly sent request ends at HTTP_REQUEST_TIMEOUT_MS. The idle timeout
 * covers a socket on which nothing moves at all, so it must outlast the quiet periods Parley itself
 * makes: chat/send waiting for its reply, an event stream between two heartbeats.
 */
function parseHttpConnections(
  reader: EnvReader,
): Pick<
  AppConfig['http'],
  'requestTimeoutMs' | 'idleTimeoutMs' | 'maxConnections' | 'listenBacklog' | 'listenSockets'
> {
  const requestTimeoutMs = reader.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, ONE_HOUR_MS);
  const idleTimeoutMs = reader.int('HTTP_IDLE_TIMEOUT_MS', 120_000, 1000, ONE_HOUR_MS);
  const replyWaitMs = reader.int('REPLY_WAIT_MS', 30_000, 0, 600_000);
  const heartbeatMs = reader.int('SSE_HEARTBEAT_MS', 15_000, 100, 15_000);
  if (idleTimeoutMs <= Math.max(replyWaitMs, heartbeatMs)) {
    throw new ConfigError(
      'HTTP_IDLE_TIMEOUT_MS',
      `must be above REPLY_WAIT_MS (${replyWaitMs}) and SSE_HEARTBEAT_MS (${heartbeatMs})`,
    );
  }
  return {
    requestTimeoutMs,
    idleTimeoutMs,
    maxConnections: reader.int('HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    listenBacklog: reader.int('HTTP_LISTEN_BACKLOG', 4096, 1, 65_535),
    listenSockets: reader.int('HTTP_LISTEN_SOCKETS', 16, 1, 256),
  };
}

/** Parses and validates the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): AppConfig {
  const r = new EnvReader(env);
  const nodeEnv = r.oneOf<NodeEnv>('NODE_ENV', 'development', ['development', 'production', 'test']);
  const databaseUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const databaseDirectUrl = r.url('DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']);
  if (databaseDirectUrl !== undefined && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_DIRECT_URL', 'needs DATABASE_URL (it is the direct way to the same database)');
  }
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:']);
  const production = nodeEnv === 'production';
  const mode = production || redisUrl !== undefined ? 'production' : 'embedded';

  if (production && redisUrl === undefined) {
    throw new ConfigError(
      'REDIS_URL',
      'is required when NODE_ENV=production (in-process coordination is one process only)',
    );
  }
  if (mode === 'production' && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_URL', 'is required in production mode (embedded PGlite is one process only)');
  }

  const devTokens = r.bool('AUTH_DEV_TOKENS', mode === 'embedded');
  if (production && devTokens) {
    throw new ConfigError('AUTH_DEV_TOKENS', 'must not be true when NODE_ENV=production');
  }
  const jwtSecret = r.optional('JWT_SECRET');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes long');
  }
  const jwksUrl = r.url('JWT_JWKS_URL', ['https:', 'http:']);
  if (production && jwtSecret === undefined && jwksUrl === undefined) {
    throw new ConfigError('JWT_SECRET', 'or JWT_JWKS_URL is required when NODE_ENV=production');
  }

  const metricsToken = r.optional('METRICS_TOKEN');
  if (production && metricsToken === undefined) {
    // /metrics tells the Node version, security event counts and queue sizes: never public.
    throw new ConfigError(
      'METRICS_TOKEN',
      'is required when NODE_ENV=production (GET /metrics needs it as a bearer token)',
    );
  }
  const corsOrigins = parseCorsOrigins(env, mode);

  const provider = r.oneOf<LlmProviderName>('LLM_PROVIDER', 'local', ['local', 'openai']);
  const llmBaseUrl = r.url('LLM_BASE_URL', ['http:', 'https:']);
  if (provider === 'openai' && llmBaseUrl === undefined && r.optional('LLM_API_KEY') === undefined) {
    throw new ConfigError('LLM_API_KEY', 'or LLM_BASE_URL is required when LLM_PROVIDER=openai');
  }

  return new AppConfig({
    nodeEnv,
    mode,
    role: r.oneOf<AppRole>('APP_ROLE', 'all', ['api', 'worker', 'all']),
    http: {
      port: r.int('PORT', 3000, 0, 65535),
      // Embedded mode serves dev tokens: only this machine may reach it unless HOST says otherwise.
      host: r.string('HOST', mode === 'embedded' ? '127.0.0.1' : '0.0.0.0'),
      trustProxy: parseTrustProxy(r),
      bodyLimitBytes: 64 * 1024,
      corsOrigins,
      ...parseHttpConnections(r),
    },
    webClient: {
      enabled: r.bool('WEB_CLIENT_ENABLED', !production),
    },
    database: {
      url: databaseUrl,
      directUrl: databaseDirectUrl ?? databaseUrl,
      poolerPreparedStatements: r.bool('DATABASE_POOLER_PREPARED_STATEMENTS', false),
      migrateOnStart: r.bool('MIGRATE_ON_START', true),
      migrationLockTimeoutMs: r.int('MIGRATION_LOCK_TIMEOUT_MS', 600_000, 1000, 24 * ONE_HOUR_MS),
      poolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 200),
      connectTimeoutMs: r.int('DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 120_000),
      statementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 15_000, 100, ONE_HOUR_MS),
      dataDir: r.string('DATA_DIR', './.data'),
    },
    redis: {
      url: redisUrl,
      keyPrefix: r.string('REDIS_KEY_PREFIX', 'parley', { pattern: /^[A-Za-z0-9_.-]{1,64}$/ }),
    },
    auth: {
      jwtSecret,
      jwksUrl,
      issuer: r.optional('JWT_ISSUER'),
      audience: r.optional('JWT_AUDIENCE'),
      devTokens,
      maxTtlSeconds: r.int('JWT_MAX_TTL_SECONDS', 86_400, 60, 365 * 86_400),
    },
    limits: {
      sendsPerMinute: r.int('RATE_LIMIT_SENDS', 30, 1, 1_000_000),
      readsPerMinute: r.int('RATE_LIMIT_READS', 300, 1, 1_000_000),
      devTokensPerMinute: r.int('RATE_LIMIT_DEV_TOKENS', 10, 1, 1_000_000),
      invalidTokensPerMinute: r.int('RATE_LIMIT_INVALID_TOKENS', 20, 1, 1_000_000),
      maxPendingReplies: r.int('MAX_PENDING_REPLIES', 3, 1, 10_000),
      maxMemoriesPerUser: r.int('MAX_MEMORIES_PER_USER', 1000, 1, 1_000_000),
      maxSessionsPerUser: r.int('MAX_SESSIONS_PER_USER', 10_000, 1, 10_000_000),
      windowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 100, 3_600_000),
      expectedReplicas: r.int('RATE_LIMIT_EXPECTED_REPLICAS', 3, 1, 1000),
    },
    shedding: parseShedding(r),
    llm: {
      provider,
      baseUrl: llmBaseUrl,
      apiKey: r.optional('LLM_API_KEY'),
      model: r.string('LLM_MODEL', 'gpt-4o-mini', { maxLength: 200 }),
      localDelayMs: r.int('LOCAL_LLM_DELAY_MS', 20, 0, 60_000),
      timeoutMs: r.int('LLM_TIMEOUT_MS', 60_000, 100, ONE_HOUR_MS),
      maxConcurrent: r.int('LLM_MAX_CONCURRENT', 16, 1, 10_000),
      maxOutputTokens: r.int('LLM_MAX_OUTPUT_TOKENS', 1024, 1, 1_000_000),
      maxTokensField: r.oneOf<MaxTokensField>('LLM_MAX_TOKENS_FIELD', 'max_tokens', [
        'max_tokens',
        'max_completion_tokens',
      ]),
      systemPrompt: r.string('LLM_SYSTEM_PROMPT', DEFAULT_SYSTEM_PROMPT, { maxLength: 20_000 }),
      promptTokenBudget: r.int('LLM_PROMPT_TOKEN_BUDGET', 6000, 100, 10_000_000),
      maxTries: r.int('LLM_MAX_TRIES', 4, 1, 100),
      retryBaseMs: r.int('LLM_RETRY_BASE_MS', 500, 1, 600_000),
    },
    replies: {
      waitMs: r.int('REPLY_WAIT_MS', 30_000, 0, 600_000),
      concurrency: r.int('REPLY_CONCURRENCY', 8, 1, 1000),
      lockTtlMs: r.int('REPLY_LOCK_TTL_MS', 15_000, 1000, 600_000),
      jobLockMs: r.int('REPLY_JOB_LOCK_MS', 30_000, 1000, ONE_HOUR_MS),
      reconcileIntervalMs: r.int('RECONCILE_INTERVAL_MS', 30_000, 100, ONE_HOUR_MS),
      coalesceWindowMs: r.int('COALESCE_WINDOW_MS', 1500, 0, 60_000),
    },
    events: {
      streamMaxLength: r.int('EVENT_STREAM_MAX_LENGTH', 1000, 10, 1_000_000),
      streamTtlMs: r.int('EVENT_STREAM_TTL_MS', 3_600_000, 1000, 7 * 24 * ONE_HOUR_MS),
      sseHeartbeatMs: r.int('SSE_HEARTBEAT_MS', 15_000, 100, 15_000),
      sseMaxStreamsPerUser: r.int('SSE_MAX_STREAMS_PER_USER', 10, 1, 10_000),
      ticketTtlMs: r.int('SSE_TICKET_TTL_MS', 300_000, 1000, 24 * ONE_HOUR_MS),
    },
    cache: {
      enabled: r.bool('CACHE_ENABLED', true),
      size: r.int('CACHE_SIZE', 10_000, 0, 10_000_000),
      maxBytes: r.int('CACHE_MAX_BYTES', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
      maxEntryBytes: r.int('CACHE_MAX_ENTRY_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
      ttlSeconds: r.int('CACHE_TTL', 300, 1, 86_400),
      lockTtlMs: r.int('CACHE_LOCK_TTL_MS', 5000, 100, 600_000),
      lockWaitMs: r.int('CACHE_LOCK_WAIT_MS', 2000, 0, 600_000),
      redisTimeoutMs: r.int('CACHE_REDIS_TIMEOUT_MS', 1000, 50, 60_000),
    },
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error']),
    metricsToken,
    livenessMaxEventLoopDelayMs: r.int('LIVENESS_MAX_EVENT_LOOP_DELAY_MS', 5000, 100, 600_000),
    shutdown: {
      graceMs: r.int('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
      drainDelayMs: r.int('SHUTDOWN_DRAIN_DELAY_MS', 0, 0, 600_000),
    },
  });
}
