import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '../metrics/metrics.service.js';
import { RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';
import { SendRetryDetector } from './send-retry.port.js';

type SendRequest = FastifyRequest<{ Params: { sessionId?: string }; Body: { clientMessageId?: unknown } | undefined }>;

/**
 * The throttler as the contract wants it: one named limit per route, tracked by the verified user
 * (or the client IP on anonymous routes), plain `Retry-After` / `X-RateLimit-*` headers, and a
 * retried send that its idempotency key recognises let through without being counted.
 */
@Injectable()
export class ParleyThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly moduleRef: ModuleRef,
    private readonly metrics: MetricsService,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const limit = this.reflector.getAllAndOverride<RateLimitName | undefined>(RATE_LIMIT, [context.getHandler(), context.getClass()]);
    if (limit === undefined) {
      return true;
    }
    return limit === 'sends' && (await this.isRecognisedRetry(context.switchToHttp().getRequest<SendRequest>()));
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const { user, ip } = request as unknown as FastifyRequest;
    return Promise.resolve(user ? `user:${user.id}` : `ip:${ip}`);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  /** One limit applies per route, so the names need no suffix. */
  protected override setResponseHeader(response: Record<string, unknown>, name: string, value: string | number): void {
    void (response as unknown as FastifyReply).header(name.replace(/-(sends|reads|dev-tokens)$/, ''), value);
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    this.metrics.throttled.inc({ limit: detail.key.split(':')[0] ?? 'unknown' });
    return super.throwThrottlingException(context, detail);
  }

  private async isRecognisedRetry(request: SendRequest): Promise<boolean> {
    const header = request.headers['idempotency-key'];
    const bodyKey = request.body?.clientMessageId;
    const key = typeof bodyKey === 'string' ? bodyKey : typeof header === 'string' ? header : undefined;
    const sessionId = request.params.sessionId;
    if (key === undefined || sessionId === undefined || request.user === undefined) {
      return false;
    }
    const detector = this.moduleRef.get(SendRetryDetector, { strict: false });
    return detector.isRetry(sessionId, request.user.id, key).catch(() => false);
  }
}
