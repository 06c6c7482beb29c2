import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** Why a request was answered as it was, when something before the handler decided (load shedding). */
const extraFields = new WeakMap<FastifyRequest, Readonly<Record<string, string>>>();

export function addAccessLogFields(request: FastifyRequest, fields: Readonly<Record<string, string>>): void {
  extraFields.set(request, { ...extraFields.get(request), ...fields });
}

/**
 * One line per answered request, tied to it by `requestId`. Headers are never logged, so the
 * Authorization header cannot leak; the logger redacts it anyway should it ever be passed.
 */
export function registerAccessLog(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const level = levelOf(route, reply.statusCode);
    // Most requests are answered at info, which production logs keep but a quieter level drops:
    // the fields are only gathered for a line that is written.
    if (logger.isLevelEnabled(level)) {
      const fields = {
        requestId: request.id,
        userId: request.user?.id,
        method: request.method,
        route,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        ...extraFields.get(request),
      };
      logger[level](fields, 'request answered');
    }
    done();
  });
}

function levelOf(route: string, statusCode: number): 'debug' | 'info' | 'warn' | 'error' {
  if (route.startsWith('/health/') || route === '/metrics') {
    // Probes and scrapes arrive every few seconds on every pod: at info they would drown the log
    // (a failing probe shows in the pod's events and in the readiness metrics instead).
    return 'debug';
  }
  if (statusCode === 503) {
    // Refused on purpose (overload, a dependency briefly away): worth a look, not a failure.
    return 'warn';
  }
  return statusCode >= 500 ? 'error' : 'info';
}
