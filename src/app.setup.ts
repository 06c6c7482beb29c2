import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { registerAccessLog } from './common/access-log.js';
import { registerIdNormalisation } from './common/id-params.hook.js';
import { PINO_LOGGER } from './common/logger.module.js';
import { requestIdFrom } from './common/request-context.js';
import { ActiveUsersService } from './metrics/active-users.service.js';
import { registerHttpMetrics } from './metrics/http-metrics.hook.js';
import { MetricsService } from './metrics/metrics.service.js';
import { RequestStatsService } from './metrics/request-stats.service.js';
import { AppConfig } from './config/app-config.js';
import { registerLoadShedding } from './throttle/load-shedding.js';

/** The Fastify instance Parley runs on: body limit, proxy trust and request ids. */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // A hop count or the proxies' addresses; never a blanket `true` (X-Forwarded-For is spoofable).
    trustProxy: config.http.trustProxy as boolean | string[],
    logger: false,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers['x-request-id']),
    return503OnClosing: true,
  });
}

export function buildOpenApiDocument(app: NestFastifyApplication): ReturnType<typeof SwaggerModule.createDocument> {
  const options = new DocumentBuilder()
    .setTitle('Parley')
    .setDescription(
      'Multi-user AI chat backend. Authorize with a bearer token (in embedded mode: POST /v1/auth/dev-token), ' +
        'create a session, send messages and read the history.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return SwaggerModule.createDocument(app, options);
}

/** Everything main.ts and the test app factory both apply to a created application. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  registerAccessLog(fastify, app.get(PINO_LOGGER));
  registerIdNormalisation(fastify);
  await registerLoadShedding(app, app.get(AppConfig), app.get(MetricsService));
  registerHttpMetrics(fastify, app.get(MetricsService), app.get(RequestStatsService), app.get(ActiveUsersService));
  if (app.get(AppConfig).role === 'worker') {
    restrictToOperations(fastify);
    return;
  }
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

/**
 * A worker pod serves its probes and its metrics, nothing else: every other path is answered by
 * the 404 handler (the contract's JSON error), and it has no Swagger UI.
 */
function restrictToOperations(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    // Unmatched paths go on to the 404 handler by themselves.
    if (route === undefined || route.startsWith('/health/') || route === '/metrics') {
      done();
      return;
    }
    reply.callNotFound();
  });
}
