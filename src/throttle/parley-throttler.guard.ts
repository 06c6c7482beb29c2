import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CACHED, type CachedOptions } from '../cache/cache.interceptor.js';
import { CacheService } from '../cache/cache.service.js';
import type { RidingRead } from '../cache/version-store.js';
import { RouteMetadata } from '../common/route-metadata.js';
import { isUuid, normaliseId } from '../common/uuid.util.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { IDEMPOTENT_SEND, RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';
import { RedisThrottlerStorage, type ThrottlerStorageRecord } from './redis-throttler.storage.js';
import { SendRetryDetector } from './send-retry.port.js';

/** Clients of one IPv6 /64 (one household or host) share an anonymous limit. */
const IPV6_PREFIX = 64;

declare module 'fastify' {
  interface FastifyRequest {
    /** The hit this request cost on the `sends` limit, which some refusals give back (see SendQuotaRefundInterceptor). */
    sendsCharge?: { key: string; ttl: number; limit: number; remaining: number };
    /** A send's idempotency key as its mark in the limit's store (sentMarkOf), for SendQuotaRefundInterceptor. */
    sentMark?: string;
  }
}

type SendRequest = FastifyRequest<{
  Params: { sessionId?: string } | undefined;
  Body: { clientMessageId?: unknown; sessionId?: unknown } | undefined;
}>;

/**
 * The throttler as the contract wants it: one named limit per route, tracked by the verified user
 * (or the client IP on anonymous routes), plain `Retry-After` / `X-RateLimit-*` headers on every
 * answer including the 429, and a retried send that its idempotency key recognises answered
 * without costing quota.
 */
@Injectable()
export class ParleyThrottlerGuard extends ThrottlerGuard {
  private readonly store: RedisThrottlerStorage;
  private readonly rateLimit: RouteMetadata<RateLimitName>;
  private readonly idempotentSend: RouteMetadata<boolean>;
  private readonly cached: RouteMetadata<CachedOptions>;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
    /** Provided by the messages module (see ThrottleModule.forRoot); absent, no send counts as a retry. */
    @Optional() @Inject(SendRetryDetector) private readonly detector: SendRetryDetector | null = null,
    /** Absent (unit tests of the guard alone): no version is read ahead. */
    @Optional() @Inject(CacheService) private readonly cache: CacheService | null = null,
  ) {
    super(options, storage, reflector);
    if (!(storage instanceof RedisThrottlerStorage)) {
      throw new Error('ParleyThrottlerGuard needs RedisThrottlerStorage');
    }
    this.store = storage;
    this.rateLimit = RouteMetadata.overridable(reflector, RATE_LIMIT);
    this.idempotentSend = RouteMetadata.ofHandler(reflector, IDEMPOTENT_SEND);
    this.cached = RouteMetadata.ofHandler(reflector, CACHED);
  }

  /**
   * Applies the one named limit the route is marked with (@RateLimit), and only that one. The
   * base class would look up every throttler's skip, limit, TTL, tracker and key metadata on
   * every request; a route's limit is known from its mark, read once.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const name = this.rateLimit.get(context);
    const throttler = name === undefined ? undefined : this.throttlers.find((candidate) => candidate.name === name);
    if (throttler === undefined) {
      return true;
    }
    const limit = throttler.limit as number;
    const ttl = throttler.ttl as number;
    return this.handleRequest({
      context,
      limit,
      ttl,
      throttler,
      blockDuration: ttl,
      getTracker: this.commonOptions.getTracker as NonNullable<ThrottlerRequest['getTracker']>,
      generateKey: this.commonOptions.generateKey as NonNullable<ThrottlerRequest['generateKey']>,
    });
  }

  protected override async handleRequest({
    context,
    limit,
    ttl,
    throttler,
    getTracker,
    generateKey,
  }: ThrottlerRequest): Promise<boolean> {
    const request = context.switchToHttp().getRequest<SendRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const name = (throttler.name ?? 'default') as RateLimitName;
    const tracker = await getTracker(request, context);
    const key = generateKey(context, tracker, name);
    const repeatable = name === 'sends' && this.isIdempotentSend(context) ? this.repeatableSend(request) : undefined;
    // Without the shared store, a repeat is looked up in the database before anything is counted;
    // with it, by its mark in the limit's own command (and at the limit, in the database).
    const askedFirst = repeatable !== undefined && !this.store.shared;
    let retry = askedFirst && (await this.isRecognisedRetry(repeatable));
    // Its ownership check and its cache look-ups need versions: read by the same Redis command as
    // the limit below.
    const versions = this.versionsToRead(context, request);
    let record: ThrottlerStorageRecord;
    if (retry) {
      void versions?.settle(undefined);
      record = await this.store.peek(key, ttl, limit);
    } else {
      const sent = repeatable === undefined || askedFirst ? undefined : sentMarkOf(repeatable);
      let read: Array<string | null> | undefined;
      try {
        const hit = await this.store.incrementReading(key, ttl, limit, versions?.keys ?? [], sent);
        record = hit.record;
        retry = hit.free;
        read = hit.values;
      } finally {
        void versions?.settle(read);
      }
      request.sentMark = sent;
      if (
        record.isBlocked &&
        !retry &&
        repeatable !== undefined &&
        !askedFirst &&
        (await this.isRecognisedRetry(repeatable))
      ) {
        // A repeat without its mark, refused by the count: answered anyway, its hit given back.
        retry = true;
        await this.store.refund(key, ttl).catch(() => undefined);
        record = { ...record, totalHits: record.totalHits - 1, isBlocked: false };
      }
    }
    const remaining = Math.max(0, record.limit - record.totalHits);
    void reply
      .header('X-RateLimit-Limit', record.limit)
      .header('X-RateLimit-Remaining', remaining)
      .header('X-RateLimit-Reset', record.timeToExpire);
    if (name === 'sends' && !retry && !record.isBlocked) {
      request.sendsCharge = { key, ttl, limit: record.limit, remaining };
    }
    if (record.isBlocked && !retry) {
      void reply.header('Retry-After', record.timeToBlockExpire);
      this.metrics.throttled.inc({ limit: name.replace('-', '_') });
      await this.throwThrottlingException(context, { ...record, ttl, key, tracker });
    }
    return true;
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const { user, ip } = request as unknown as FastifyRequest;
    return Promise.resolve(user ? `user:${user.id}` : `ip:${normalizeIp(ip, IPV6_PREFIX)}`);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  /**
   * The versions the request's first look-ups need: a session route's session (its ownership
   * check, its cached answer), or else the owner's collection a cached route answers from.
   */
  private versionsToRead(context: ExecutionContext, request: SendRequest): RidingRead<void> | null {
    if (this.cache === null) {
      return null;
    }
    const sessionId = request.params?.sessionId;
    if (sessionId !== undefined) {
      return isUuid(sessionId) ? this.cache.prefetchSessionVersions(sessionId) : null;
    }
    const cached = this.cached.get(context);
    const user = request.user;
    return cached === undefined || user === undefined ? null : this.cache.prefetchOwnerVersion(cached.kind, user.id);
  }

  private isIdempotentSend(context: ExecutionContext): boolean {
    return this.idempotentSend.get(context) === true;
  }

  /**
   * What identifies a send's repeats: its user, its idempotency key (the body's clientMessageId, or
   * the Idempotency-Key header) and its session (the route's `:sessionId`, or the body's
   * `sessionId` on `POST /v1/chat/send`, or none there: the session that send created). Undefined
   * when the send has no key (it cannot repeat anything). Only on routes marked @IdempotentSend().
   */
  private repeatableSend(request: SendRequest): RepeatableSend | undefined {
    const header = request.headers['idempotency-key'];
    const bodyKey = request.body?.clientMessageId;
    const key = typeof bodyKey === 'string' ? bodyKey : typeof header === 'string' ? header : undefined;
    const sessionId = request.params?.sessionId ?? request.body?.sessionId ?? null;
    if (key === undefined || (sessionId !== null && !isUuid(sessionId)) || request.user === undefined) {
      return undefined;
    }
    return { sessionId: sessionId === null ? null : normaliseId(sessionId), ownerId: request.user.id, key };
  }

  /** Whether the database holds the send that `send` would repeat. */
  private async isRecognisedRetry(send: RepeatableSend): Promise<boolean> {
    const detector = this.detector;
    if (detector === null) {
      return false;
    }
    return detector.isRetry(send.sessionId, send.ownerId, send.key).catch(() => false);
  }
}

interface RepeatableSend {
  sessionId: string | null;
  ownerId: string;
  key: string;
}

/** A send's mark in the limit's store: fixed length, whatever its key and ids hold. */
function sentMarkOf(send: RepeatableSend): string {
  return createHash('sha256')
    .update(JSON.stringify([send.ownerId, send.sessionId, send.key]))
    .digest('base64url');
}
