import type { FastifyInstance } from 'fastify';
import { normaliseId } from './uuid.util.js';

/**
 * Lower-cases every UUID in a route's path parameters before any guard, interceptor, pipe or
 * handler sees them, so `/v1/sessions/<ID IN UPPER CASE>` reads and invalidates exactly the cache
 * entries, locks and rows of the lower-case id.
 */
export function registerIdNormalisation(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const params = request.params as Record<string, unknown> | undefined;
    if (params !== undefined && params !== null && typeof params === 'object') {
      for (const [name, value] of Object.entries(params)) {
        params[name] = normaliseId(value);
      }
    }
    done();
  });
}
