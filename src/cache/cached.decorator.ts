import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { CACHED, CacheInterceptor, type CachedOptions } from './cache.interceptor.js';

export type { CachedOptions } from './cache.interceptor.js';

/**
 * Caches a GET route's body per owner, per version and per query: on a route with `:sessionId`
 * (kinds `history`, `session`) under that session's version, otherwise (`sessions`, `memories`)
 * under the caller's collection version, which the ChangeNotifier moves after each write.
 * With `etag`, answers carry an ETag and If-None-Match can answer 304.
 * The route must be authenticated; ownership of `:sessionId` must already be checked by a guard.
 */
export function Cached(options: CachedOptions): MethodDecorator {
  return applyDecorators(SetMetadata(CACHED, options), UseInterceptors(CacheInterceptor));
}
