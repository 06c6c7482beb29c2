import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { EtagInterceptor } from '../common/etag.interceptor.js';
import { CACHED, CacheInterceptor, type CachedOptions } from './cache.interceptor.js';

export type { CachedOptions } from './cache.interceptor.js';

/**
 * Caches a GET route's body per owner, per version and per query: on a route with `:sessionId`
 * (kinds `history`, `session`) under that session's version, otherwise (`sessions`, `memories`)
 * under the caller's collection version, which the ChangeNotifier moves after each write.
 * The route must be authenticated; ownership of `:sessionId` must already be checked by a guard.
 */
export function Cached(options: CachedOptions): MethodDecorator {
  // The ETag interceptor goes outside the cache interceptor: it must see hits too.
  const interceptors = options.etag === true ? [EtagInterceptor, CacheInterceptor] : [CacheInterceptor];
  return applyDecorators(SetMetadata(CACHED, options), UseInterceptors(...interceptors));
}
