import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** @fastify/cors's options, as Nest's Fastify adapter takes them. */
type CorsOptions = NonNullable<Parameters<NestFastifyApplication['enableCors']>[0]>;

/** What a browser front-end may send: the contract's request headers. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-None-Match',
  'Last-Event-ID',
  'X-Request-Id',
];

/** What its scripts may read from an answer. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'ETag',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

const CORS_METHODS = ['GET', 'POST', 'PATCH', 'DELETE'];
/** Browsers cap it lower (Chromium: 2 h); long enough to spare a preflight per request. */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `http://localhost:*` matches that scheme and host on any port (or none); others match exactly. */
export function corsOriginMatcher(origin: string): string | RegExp {
  if (!origin.endsWith(':*')) {
    return origin;
  }
  return new RegExp(`^${escapeRegExp(origin.slice(0, -2))}(:\\d{1,5})?$`);
}

/**
 * CORS for the configured origins only. Another origin gets no Access-Control-Allow-Origin, so
 * the browser keeps the answer from its script. Bearer tokens, never cookies: no credentials.
 */
export function corsOptions(origins: readonly string[]): CorsOptions {
  return {
    origin: origins.map(corsOriginMatcher),
    methods: CORS_METHODS,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
    strictPreflight: false,
  };
}
