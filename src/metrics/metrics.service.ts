import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SECURITY_EVENT_TYPES } from '../common/security-events.constant.js';

/** How an event stream answered 200 went on: following its session, or closed at once (its event stream unreadable). */
export const SSE_OPEN_OUTCOMES = ['opened', 'unavailable'] as const;

/**
 * Every metric Parley exports, on a registry of this app's own (several apps in one test process
 * must not collide). Label values are bounded sets: route templates, never raw URLs or ids.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  /** In-process hits not yet added to cacheRequests: counted as a number, added when the metric is read. */
  private memoryHits = 0;

  /** Count in-process hits with memoryCacheHit(), which costs nothing per look-up; the rest with inc(). */
  readonly cacheRequests: Counter<'tier' | 'result'> = new Counter({
    name: 'parley_cache_requests_total',
    help: 'Cache look-ups by tier (memory, redis) and result (hit, miss)',
    labelNames: ['tier', 'result'] as const,
    registers: [this.registry],
    collect: () => {
      if (this.memoryHits > 0) {
        const hits = this.memoryHits;
        this.memoryHits = 0;
        this.cacheRequests.inc({ tier: 'memory', result: 'hit' }, hits);
      }
    },
  });

  readonly cacheFills = new Counter({
    name: 'parley_cache_fills_total',
    help: 'Cache entries filled from the database',
    registers: [this.registry],
  });

  readonly cacheLockWaits = new Counter({
    name: 'parley_cache_lock_waits_total',
    help: 'Cache misses that waited for another replica to fill the entry, by outcome (filled, timeout)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly cacheEvictions = new Counter({
    name: 'parley_cache_evictions_total',
    help: 'Entries evicted from the in-process cache tier',
    registers: [this.registry],
  });

  readonly cacheEntries = new Gauge({
    name: 'parley_cache_entries',
    help: 'Entries in the in-process cache tier',
    registers: [this.registry],
  });

  readonly cacheBytes = new Gauge({
    name: 'parley_cache_bytes',
    help: 'Approximate size of the values in the in-process cache tier',
    registers: [this.registry],
  });

  readonly cacheDbReads = new Counter({
    name: 'parley_cache_db_reads_total',
    help: 'Database reads made on behalf of cacheable look-ups (fills and bypasses), by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly cacheBumpRelays = new Counter({
    name: 'parley_cache_bump_relays_total',
    help: 'Version bumps relayed through PostgreSQL while Redis was out of reach: sent (confirmed, unconfirmed, unsent) and applied for another replica',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly cacheBypasses = new Counter({
    name: 'parley_cache_bypasses_total',
    help: 'Cacheable look-ups sent straight to the database, by reason (disabled, unverified, too_large: a value over CACHE_MAX_ENTRY_BYTES, served but not stored)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly lockAcquisitions = new Counter({
    name: 'parley_lock_acquisitions_total',
    help: 'Lock attempts by lock kind and result (acquired, busy, timeout, lost)',
    labelNames: ['lock', 'result'] as const,
    registers: [this.registry],
  });

  readonly lockWaitSeconds = new Histogram({
    name: 'parley_lock_wait_seconds',
    help: 'Time spent waiting for a lock, by lock kind',
    labelNames: ['lock'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'parley_queue_jobs',
    help: 'Jobs in the replies queue by state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly replies = new Counter({
    name: 'parley_replies_total',
    help: 'Replies finished by outcome (complete, failed, stopped, superseded; fenced: a write of a stale attempt)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly stopLatency = new Histogram({
    name: 'parley_reply_stop_latency_seconds',
    help: 'From a stop request to the last delta of its reply (after which no worker can publish one)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly replyLatency = new Histogram({
    name: 'parley_reply_latency_seconds',
    help: 'From the send being stored to the reply being complete',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly llmDuration = new Histogram({
    name: 'parley_llm_request_duration_seconds',
    help: 'Upstream LLM call duration by provider and outcome (ok, error)',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly llmTokens = new Counter({
    name: 'parley_llm_tokens_total',
    help: 'Tokens streamed from the LLM provider',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly llmErrors = new Counter({
    name: 'parley_llm_errors_total',
    help: 'Upstream LLM errors by provider and kind (timeout, rate_limited, server, client, stream)',
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });

  readonly memoryExtractions = new Counter({
    name: 'parley_memory_extractions_total',
    help: 'Memory extractions of user messages by outcome (stored, nothing, duplicate, disabled, malformed, refused, error, gone)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly extractedFacts = new Counter({
    name: 'parley_memories_extracted_total',
    help: 'Facts drawn from conversations by result (stored, deduplicated, replaced, evicted, skipped)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly summaries = new Counter({
    name: 'parley_summaries_total',
    help: 'Summarisations of long branches by outcome (stored, fenced, nothing, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly promptTokens = new Histogram({
    name: 'parley_prompt_tokens',
    help: 'Estimated tokens of each prompt by part (system, instructions, memories, summary, recent)',
    labelNames: ['part'] as const,
    buckets: [0, 16, 64, 256, 1024, 4096, 16384, 65536],
    registers: [this.registry],
  });

  readonly throttled = new Counter({
    name: 'parley_throttled_requests_total',
    help: 'Requests refused with 429 by limit (sends, reads, dev_tokens, pending_replies, streams)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly shed = new Counter({
    name: 'parley_shed_requests_total',
    help: 'Requests refused with 503 by load shedding, by reason (event_loop, heap, rss)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly securityEvents = new Counter({
    name: 'parley_security_events_total',
    help: 'Access violations by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly activeUsers = new Gauge({
    name: 'parley_active_users',
    help: 'Distinct users seen by any replica in the last minute',
    registers: [this.registry],
  });

  readonly sseStreamsOpen = new Gauge({
    name: 'parley_sse_streams_open',
    help: 'Server-sent event streams open on this process',
    registers: [this.registry],
  });

  readonly sseStreamOpens = new Counter({
    name: 'parley_sse_stream_opens_total',
    help: 'Server-sent event streams answered 200, by outcome: opened (following the session), unavailable (its event stream could not be read: closed at once)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: 'parley_redis_up',
    help: '1 when this replica can reach Redis (production mode), 0 otherwise',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Counters exist from zero for every known label value, so that increase() and rate() see a
    // process's first events (a series that appears at 1 looks like it has always been 1).
    for (const type of SECURITY_EVENT_TYPES) {
      this.securityEvents.inc({ type }, 0);
    }
    for (const outcome of ['complete', 'failed', 'stopped', 'superseded', 'fenced']) {
      this.replies.inc({ outcome }, 0);
    }
    for (const outcome of SSE_OPEN_OUTCOMES) {
      this.sseStreamOpens.inc({ outcome }, 0);
    }
    for (const tier of ['memory', 'redis']) {
      for (const result of ['hit', 'miss']) {
        this.cacheRequests.inc({ tier, result }, 0);
      }
    }
  }

  /**
   * One look-up answered by the in-process tier: the most frequent count of all (every cached read
   * makes one or two), kept as a plain number until a scrape or the admin statistics read it.
   */
  memoryCacheHit(): void {
    this.memoryHits += 1;
  }

  /** The LLM series of this process's provider, from zero (see the constructor). */
  initialiseLlmSeries(provider: string, errorKinds: readonly string[]): void {
    for (const kind of errorKinds) {
      this.llmErrors.inc({ provider, kind }, 0);
    }
    for (const outcome of ['ok', 'error']) {
      this.llmDuration.zero({ provider, outcome });
    }
  }

  /** http_requests_total of an API route, from zero for every status class (see the constructor). */
  initialiseRoute(method: string, route: string): void {
    for (const statusClass of ['2xx', '4xx', '5xx']) {
      this.httpRequests.inc({ method, route, status_class: statusClass }, 0);
    }
  }
}
