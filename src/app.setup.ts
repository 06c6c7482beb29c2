import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { HttpStatus } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ClsService } from 'nestjs-cls';
import { registerAccessLog } from './common/access-log.js';
import { errorBody } from './common/http-exception.filter.js';
import { registerCors } from './common/cors.util.js';
import { withErrorExamples } from './common/openapi-errors.util.js';
import { allowedMethods } from './common/allowed-methods.js';
import {
  answerClientError,
  answerFrameworkError,
  registerRequestIdBySocket,
  registerShutdownAnswer,
} from './common/framework-errors.js';
import { registerJsonBodyParser } from './common/json-body.parser.js';
import { registerSecurityHeaders } from './common/security-headers.js';
import { registerIdNormalisation } from './common/id-params.hook.js';
import { registerQueryTextCheck } from './common/storable-text.js';
import { PINO_LOGGER } from './common/logger.module.js';
import { registerRequestContext, requestIdFrom } from './common/request-context.js';
import { ActiveUsersService } from './metrics/active-users.service.js';
import { registerHttpMetrics } from './metrics/http-metrics.hook.js';
import { MetricsService } from './metrics/metrics.service.js';
import { RequestStatsService } from './metrics/request-stats.service.js';
import { AppConfig, type TrustProxy } from './config/app-config.js';
import { registerLoadShedding } from './throttle/load-shedding.js';
import { registerWebClient } from './web-client/web-client.js';

/**
 * The Fastify instance Parley runs on: body limit and parser, proxy trust, request ids, the time a
 * request may take to arrive, the connections it may hold, and Parley's error body for what Fastify
 * and Node answer themselves.
 */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // A hop count or the proxies' addresses; never a blanket `true` (X-Forwarded-For is spoofable).
    trustProxy: fastifyTrustProxy(config.http.trustProxy),
    logger: false,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers['x-request-id']),
    // Parley answers a request that arrives while the server closes itself (registerShutdownAnswer).
    return503OnClosing: false,
    // Receiving a whole request, headers and body, slowly sent or not: then 408 and the socket closes.
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.idleTimeoutMs,
    // Node arms these only when the server is created. It checks for timed-out requests at the
    // interval (30 s by default): a fraction of the timeout instead.
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(config.http.requestTimeoutMs),
    },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  const fastify = adapter.getInstance();
  fastify.server.maxConnections = config.http.maxConnections;
  registerCors(fastify, config.http.corsOrigins);
  registerShutdownAnswer(fastify);
  registerJsonBodyParser(fastify, config.http.bodyLimitBytes);
  return adapter;
}

/**
 * Fastify now ignores a numeric `trustProxy` (it cannot check the peer is a proxy), which would
 * leave every client behind the ingress with the ingress's address, sharing every per-IP limit. A
 * hop count is what TRUST_PROXY documents: the nearest `hops` addresses are trusted proxies (the
 * deployment guarantees that only its proxies reach the pods).
 */
function fastifyTrustProxy(trustProxy: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') {
    const hops = trustProxy;
    return (_address: string, hop: number) => hop < hops;
  }
  return trustProxy;
}

/** A request that is too slow is answered at most this long after its timeout. */
export function connectionsCheckingIntervalMs(requestTimeoutMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(requestTimeoutMs / 10)));
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
  return withErrorExamples(SwaggerModule.createDocument(app, options));
}

/** Everything main.ts and the test app factory both apply to a created application. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const config = app.get(AppConfig);
  registerRequestContext(fastify, app.get(ClsService));
  allowedMethods.register(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // A CORS preflight is answered before the hook above runs.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!reply.hasHeader('x-request-id')) {
      void reply.header('x-request-id', request.id);
    }
    done(null, payload);
  });
  registerRequestIdBySocket(fastify);
  registerSecurityHeaders(fastify);
  registerQueryTextCheck(fastify);
  registerAccessLog(fastify, app.get(PINO_LOGGER));
  registerIdNormalisation(fastify);
  await registerLoadShedding(app, config, app.get(MetricsService));
  const worker = app.get(AppConfig).role === 'worker';
  registerHttpMetrics(
    fastify,
    app.get(MetricsService),
    app.get(RequestStatsService),
    app.get(ActiveUsersService),
    !worker,
  );
  if (worker) {
    restrictToOperations(fastify);
    return;
  }
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  if (config.webClient.enabled && config.role !== 'worker') {
    registerWebClient(fastify);
  }
}

/**
 * A worker pod serves its probes and its metrics, nothing else: every other path, whether the
 * process has a route for it or not, is a 404 in the contract's JSON error, and it has no Swagger UI.
 */
function restrictToOperations(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && (route.startsWith('/health/') || route === '/metrics')) {
      done();
      return;
    }
    const shape = { status: HttpStatus.NOT_FOUND, message: 'No route matches this path', code: 'not_found' };
    void reply.status(shape.status).send(errorBody(shape, request.id));
  });
}
