import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { addAccessLogFields } from '../common/access-log.js';
import { errorBody, type ErrorBody } from '../common/http-exception.filter.js';
import type { AppConfig } from '../config/app-config.js';
import type { MetricsService } from '../metrics/metrics.service.js';

export const SHED_RETRY_AFTER_SECONDS = 5;
/** Reads are shed only past this multiple of the memory thresholds (sends go first). */
export const READS_MEMORY_FACTOR = 1.2;
export const SAMPLE_INTERVAL_MS = 500;
/**
 * Samples after listening before shedding starts: the first may still cover start-up work, the
 * second covers only time spent listening.
 */
export const WARM_UP_SAMPLES = 2;

const NEVER_SHED = /^\/(health|metrics|docs)(\/|$|-json)/;
const SEND_ROUTES = new Set(['/v1/sessions/:sessionId/messages', '/v1/chat/send']);

export type ShedReason = 'event_loop' | 'heap' | 'rss';
export type RequestClass = 'sends' | 'reads';

/** What @fastify/under-pressure measured over its last sample. */
export interface LoadSample {
  /** Mean event-loop delay in ms; Infinity (or NaN) when no sample landed in the interval. */
  eventLoopDelay: number;
  heapUsed: number;
  rssBytes: number;
}

type UnderPressureInstance = FastifyInstance & { memoryUsage?: () => LoadSample };

/** The load sample of the running server, or undefined before load shedding is registered. */
export function currentLoad(fastify: FastifyInstance): LoadSample | undefined {
  return (fastify as UnderPressureInstance).memoryUsage?.();
}

/**
 * under-pressure reports an event-loop delay of Infinity when no sample landed in an interval (the
 * loop was busy for all of it, or the process got no CPU): that says only "at least one interval".
 */
export function measuredDelayMs(sample: LoadSample): number {
  return Number.isFinite(sample.eventLoopDelay) ? sample.eventLoopDelay : SAMPLE_INTERVAL_MS;
}

/**
 * Why a request of this class would be refused now, if it would. Sends give way first (lower
 * thresholds), reads only past the higher ones. The reason is the measure that refuses this
 * request, not whichever one under-pressure happened to check first.
 */
export function overloadReason(sample: LoadSample, config: AppConfig, kind: RequestClass): ShedReason | undefined {
  const { sendsEventLoopDelayMs, readsEventLoopDelayMs, maxHeapBytes, maxRssBytes } = config.shedding;
  const delayBound = kind === 'sends' ? sendsEventLoopDelayMs : readsEventLoopDelayMs;
  const memoryFactor = kind === 'sends' ? 1 : READS_MEMORY_FACTOR;
  if (measuredDelayMs(sample) > delayBound) {
    return 'event_loop';
  }
  if (maxHeapBytes > 0 && sample.heapUsed > maxHeapBytes * memoryFactor) {
    return 'heap';
  }
  if (maxRssBytes > 0 && sample.rssBytes > maxRssBytes * memoryFactor) {
    return 'rss';
  }
  return undefined;
}

/** Health, metrics and docs are never shed; sends are shed first; everything else counts as a read. */
export function requestClass(request: FastifyRequest): RequestClass | 'never' {
  const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
  if (NEVER_SHED.test(route)) {
    return 'never';
  }
  return request.method === 'POST' && SEND_ROUTES.has(route) ? 'sends' : 'reads';
}

/**
 * Refuses work early and cheaply when the process is overloaded (503 `overloaded` with
 * Retry-After). under-pressure calls the handler once any send threshold is exceeded; the handler
 * decides from the whole sample, for the class of the request, rather than from the first
 * measure under-pressure happened to check.
 */
export async function registerLoadShedding(
  app: NestFastifyApplication,
  config: AppConfig,
  metrics: MetricsService,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // Start-up work (module initialisation, migrations, the OpenAPI document) blocks the event loop
  // before the server listens; the samples that cover it say nothing about serving requests.
  let listeningAt: number | undefined;
  fastify.addHook('onListen', (done) => {
    listeningAt = Date.now();
    done();
  });
  const warmedUp = (): boolean =>
    listeningAt !== undefined && Date.now() - listeningAt >= WARM_UP_SAMPLES * SAMPLE_INTERVAL_MS;
  await app.register(underPressure, {
    maxEventLoopDelay: config.shedding.sendsEventLoopDelayMs,
    maxHeapUsedBytes: config.shedding.maxHeapBytes,
    maxRssBytes: config.shedding.maxRssBytes,
    sampleInterval: SAMPLE_INTERVAL_MS,
    // A handler that returns a value has under-pressure send it; returning nothing lets the request in.
    pressureHandler: shed as unknown as (request: FastifyRequest, reply: FastifyReply) => void,
  });

  function shed(request: FastifyRequest, reply: FastifyReply): ErrorBody | undefined {
    const kind = requestClass(request);
    const sample = currentLoad(fastify);
    const reason =
      kind === 'never' || sample === undefined || !warmedUp() ? undefined : overloadReason(sample, config, kind);
    if (reason === undefined) {
      return undefined;
    }
    metrics.shed.inc({ reason });
    addAccessLogFields(request, { code: 'overloaded', reason, requestClass: kind });
    void reply.status(503).header('retry-after', String(SHED_RETRY_AFTER_SECONDS));
    return errorBody(
      { status: 503, message: 'The server is overloaded; retry shortly', code: 'overloaded' },
      request.id,
    );
  }
}
