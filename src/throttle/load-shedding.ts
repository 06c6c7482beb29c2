import underPressure from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { errorBody, type ErrorBody } from '../common/http-exception.filter.js';
import type { AppConfig } from '../config/app-config.js';
import type { MetricsService } from '../metrics/metrics.service.js';

const RETRY_AFTER_SECONDS = 5;
const SAMPLE_INTERVAL_MS = 500;
/** Reads are shed only past this multiple of the memory thresholds (sends go first). */
const READS_MEMORY_FACTOR = 1.2;
const NEVER_SHED = /^\/(health|metrics|docs)(\/|$|-json)/;
const SEND = /^\/v1\/(sessions\/[^/]+\/messages|chat\/send)\/?$/;

const REASONS: Record<string, string> = { eventLoopDelay: 'event_loop', heapUsedBytes: 'heap', rssBytes: 'rss' };

/**
 * under-pressure reports an event-loop delay of Infinity when no sample landed in an interval (the
 * loop was busy for all of it, or the process got no CPU): that says only "at least one interval".
 */
function measured(type: string, value: number | undefined): number {
  if (type === 'eventLoopDelay' && (value === undefined || !Number.isFinite(value))) {
    return SAMPLE_INTERVAL_MS;
  }
  return value ?? 0;
}

function shouldShed(config: AppConfig, request: FastifyRequest, type: string, reported: number | undefined): boolean {
  const path = request.url.split('?')[0] ?? '';
  if (NEVER_SHED.test(path)) {
    return false;
  }
  const value = measured(type, reported);
  if (request.method === 'POST' && SEND.test(path)) {
    return type !== 'eventLoopDelay' || value > config.shedding.sendsEventLoopDelayMs;
  }
  const { readsEventLoopDelayMs, maxHeapBytes, maxRssBytes } = config.shedding;
  switch (type) {
    case 'eventLoopDelay':
      return value > readsEventLoopDelayMs;
    case 'heapUsedBytes':
      return value > maxHeapBytes * READS_MEMORY_FACTOR;
    case 'rssBytes':
      return value > maxRssBytes * READS_MEMORY_FACTOR;
    default:
      return false;
  }
}

/**
 * Refuses work early and cheaply when the process is overloaded: sends first (past the lower
 * event-loop threshold), reads only past a higher one, health and metrics never.
 */
export async function registerLoadShedding(app: NestFastifyApplication, config: AppConfig, metrics: MetricsService): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.shedding.sendsEventLoopDelayMs,
    maxHeapUsedBytes: config.shedding.maxHeapBytes,
    maxRssBytes: config.shedding.maxRssBytes,
    sampleInterval: SAMPLE_INTERVAL_MS,
    // A handler that returns a value has under-pressure send it; returning nothing lets the request in.
    pressureHandler: shed as unknown as (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  });

  function shed(request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined): ErrorBody | undefined {
    if (!shouldShed(config, request, type, value)) {
      return undefined;
    }
    metrics.shed.inc({ reason: REASONS[type] ?? type });
    void reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS));
    return errorBody({ status: 503, message: 'The server is overloaded; retry shortly', code: 'overloaded' }, request.id);
  }
}
