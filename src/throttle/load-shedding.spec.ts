import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { measuredDelayMs, overloadReason, requestClass, SAMPLE_INTERVAL_MS, type LoadSample } from './load-shedding.js';

const MB = 1024 * 1024;
const config = loadConfig({
  SHED_SENDS_EVENT_LOOP_DELAY_MS: '100',
  SHED_READS_EVENT_LOOP_DELAY_MS: '500',
  SHED_MAX_HEAP_BYTES: String(100 * MB),
  SHED_MAX_RSS_BYTES: String(200 * MB),
});
const calm: LoadSample = { eventLoopDelay: 1, heapUsed: 10 * MB, rssBytes: 50 * MB };

describe('overloadReason', () => {
  it('refuses nothing when every measure is under its threshold', () => {
    expect(overloadReason(calm, config, 'sends')).toBeUndefined();
    expect(overloadReason(calm, config, 'reads')).toBeUndefined();
  });

  it('sheds sends before reads on event-loop delay', () => {
    const busy = { ...calm, eventLoopDelay: 200 };
    expect(overloadReason(busy, config, 'sends')).toBe('event_loop');
    expect(overloadReason(busy, config, 'reads')).toBeUndefined();
    expect(overloadReason({ ...calm, eventLoopDelay: 600 }, config, 'reads')).toBe('event_loop');
  });

  it('reads an interval without a sample (Infinity, NaN) as one interval of delay, not an infinite one', () => {
    for (const eventLoopDelay of [Infinity, NaN]) {
      expect(measuredDelayMs({ ...calm, eventLoopDelay })).toBe(SAMPLE_INTERVAL_MS);
      expect(overloadReason({ ...calm, eventLoopDelay }, config, 'sends')).toBe('event_loop');
      // 500 ms is not past the reads threshold of 500 ms: reads still pass.
      expect(overloadReason({ ...calm, eventLoopDelay }, config, 'reads')).toBeUndefined();
      expect(overloadReason({ ...calm, eventLoopDelay }, loadConfig({}), 'reads')).toBeUndefined();
    }
  });

  it('sheds sends past the memory thresholds and reads only past 1.2 times them', () => {
    expect(overloadReason({ ...calm, heapUsed: 110 * MB }, config, 'sends')).toBe('heap');
    expect(overloadReason({ ...calm, heapUsed: 110 * MB }, config, 'reads')).toBeUndefined();
    expect(overloadReason({ ...calm, heapUsed: 130 * MB }, config, 'reads')).toBe('heap');
    expect(overloadReason({ ...calm, rssBytes: 220 * MB }, config, 'sends')).toBe('rss');
    expect(overloadReason({ ...calm, rssBytes: 220 * MB }, config, 'reads')).toBeUndefined();
    expect(overloadReason({ ...calm, rssBytes: 250 * MB }, config, 'reads')).toBe('rss');
  });

  it('names the measure that refuses this request, not the first one over a send threshold', () => {
    const sample = { eventLoopDelay: 200, heapUsed: 130 * MB, rssBytes: 50 * MB };
    expect(overloadReason(sample, config, 'sends')).toBe('event_loop');
    expect(overloadReason(sample, config, 'reads')).toBe('heap');
  });

  it('does not check memory when the thresholds are 0 (the default)', () => {
    expect(
      overloadReason({ ...calm, heapUsed: 10_000 * MB, rssBytes: 10_000 * MB }, loadConfig({}), 'sends'),
    ).toBeUndefined();
  });
});

describe('requestClass', () => {
  const request = (method: string, route: string | undefined, url = route ?? '/nowhere'): FastifyRequest =>
    ({ method, url, routeOptions: { url: route } }) as unknown as FastifyRequest;

  it('never sheds health, metrics or docs', () => {
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs', '/docs/', '/docs-json']) {
      expect(requestClass(request('GET', path))).toBe('never');
    }
  });

  it('counts message posts and /v1/chat/send as sends, everything else as reads', () => {
    expect(requestClass(request('POST', '/v1/sessions/:sessionId/messages', '/v1/sessions/x/messages'))).toBe('sends');
    expect(requestClass(request('POST', '/v1/chat/send'))).toBe('sends');
    expect(requestClass(request('GET', '/v1/sessions/:sessionId/messages'))).toBe('reads');
    expect(requestClass(request('POST', '/v1/sessions'))).toBe('reads');
    expect(requestClass(request('GET', undefined, '/v1/unknown?x=1'))).toBe('reads');
    expect(requestClass(request('GET', '/healthz'))).toBe('reads');
  });
});
