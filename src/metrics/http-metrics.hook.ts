import type { FastifyInstance } from 'fastify';
import type { ActiveUsersService } from './active-users.service.js';
import type { MetricsService } from './metrics.service.js';
import type { RequestStatsService } from './request-stats.service.js';

/** Route templates only (never raw URLs or ids), so label sets stay bounded. */
export function routeLabel(template: string | undefined): string {
  return template ?? 'unmatched';
}

/** Counts every answered request, 404s and errors included, by method, route template and status class. */
export function registerHttpMetrics(
  fastify: FastifyInstance,
  metrics: MetricsService,
  stats: RequestStatsService,
  activeUsers: ActiveUsersService,
  servesApi = true,
): void {
  // The API's counters exist from zero (a first 5xx must show in increase()); probes, docs and
  // unmatched paths appear as they are used. A worker serves no API route: it exports none.
  fastify.addHook('onRoute', (route) => {
    if (servesApi && route.url.startsWith('/v1/')) {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') {
          metrics.initialiseRoute(method, routeLabel(route.url));
        }
      }
    }
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: routeLabel(request.routeOptions.url),
      status_class: `${Math.floor(reply.statusCode / 100)}xx`,
    };
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    stats.record(reply.elapsedTime);
    if (request.user) {
      activeUsers.seen(request.user.id);
    }
    done();
  });
}
