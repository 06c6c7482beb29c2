import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, map, of, type Observable } from 'rxjs';
import {
  isSessionScope,
  VERSION_SCOPE,
  type CacheEntrySpec,
  type CacheKind,
  type CacheParamValue,
} from './cache-key.builder.js';
import { etagOf, ifNoneMatchHits } from '../common/etag.util.js';
import { RouteMetadata } from '../common/route-metadata.js';
import { CacheService } from './cache.service.js';

export const CACHED = Symbol('parley:cached');

/** Set by @Cached() (cached.decorator.ts). */
export interface CachedOptions {
  kind: CacheKind;
  /**
   * The query parameters the response depends on; all of them go into the key. A request with any
   * other parameter is not cached (it is left to validation).
   */
  query?: readonly string[];
  /** Adds an ETag (If-None-Match answers 304), kept with the cached entry rather than recomputed. */
  etag?: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

type CacheableRequest = FastifyRequest<{
  Params: { sessionId?: string };
  Querystring: Record<string, unknown>;
}>;

/** The spec of a request's entry, or null when the request is not cacheable as it stands. */
export function specFor(options: CachedOptions, request: CacheableRequest): CacheEntrySpec | null {
  const user = request.user;
  if (user === undefined) {
    return null;
  }
  const allowed = options.query ?? [];
  const params: Record<string, CacheParamValue> = {};
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (!allowed.includes(name) || !(typeof value === 'string' || isStringArray(value))) {
      return null;
    }
    params[name] = value;
  }
  let scopeId = user.id;
  if (isSessionScope(VERSION_SCOPE[options.kind])) {
    const sessionId = request.params.sessionId;
    if (sessionId === undefined) {
      return null;
    }
    scopeId = sessionId;
  }
  return { kind: options.kind, ownerId: user.id, scopeId, params };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Serves a @Cached() route from the cache, filling it from the handler on a miss. With `etag`, it
 * also answers the conditional request: the entry keeps its tag, and a matching If-None-Match is a
 * 304 without a body. One interceptor rather than the cache's and the ETag's: each layer of Nest's
 * interceptor chain costs every read an async resource, deferred observables and a merge.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private readonly cached: RouteMetadata<CachedOptions>;

  constructor(
    reflector: Reflector,
    private readonly cache: CacheService,
  ) {
    this.cached = RouteMetadata.ofHandler(reflector, CACHED);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.cached.get(context);
    const http = context.switchToHttp();
    const request = http.getRequest<CacheableRequest>();
    const reply = http.getResponse<FastifyReply>();
    const spec = options === undefined ? null : specFor(options, request);
    if (options === undefined || spec === null) {
      // Not cacheable as it stands (validation answers most of these): tagged from its own body.
      const handled = next.handle();
      return options?.etag === true
        ? handled.pipe(map((body) => conditional(request, reply, etagOf(body), body)))
        : handled;
    }
    const load = (): Promise<unknown> => lastValueFrom(next.handle(), { defaultValue: undefined });
    const hit = this.cache.cachedNow(spec);
    return (hit === undefined ? from(this.cache.getOrLoad(spec, load)) : of(hit)).pipe(
      map((entry) => {
        let body: unknown;
        if (entry.isSerialised) {
          // The JSON the entry was stored as is the body: Fastify sends its bytes as they are (and
          // the entry is never decoded: a decoded copy would stay on the heap beside its bytes).
          void reply.type(JSON_TYPE);
          body = entry.body;
        } else {
          body = entry.value;
        }
        return options.etag === true ? conditional(request, reply, entry.etag, body) : body;
      }),
    );
  }
}

/**
 * Tags the answer (a hash of its JSON: equal bodies, equal tags, whichever replica or tier answers)
 * and turns it into a 304 without a body when If-None-Match names that tag.
 */
function conditional(request: FastifyRequest, reply: FastifyReply, etag: string, body: unknown): unknown {
  void reply.header('etag', etag).header('cache-control', 'private, no-cache');
  if (ifNoneMatchHits(request.headers['if-none-match'], etag)) {
    void reply.status(304);
    return undefined;
  }
  return body;
}
