import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * Refusals that store and generate nothing and so cost no send quota: a send refused because the
 * caller's replies are still pending must not also use up the minute's sends.
 */
const FREE_REFUSALS: ReadonlySet<string> = new Set(['too_many_pending_replies']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Gives the `sends` hit back when a send is refused with one of FREE_REFUSALS. */
@Injectable()
export class SendQuotaRefundInterceptor implements NestInterceptor {
  constructor(@InjectThrottlerStorage() private readonly storage: ThrottlerStorage) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.sendsCharge === undefined) {
      // Not a charged send (the guards ran already): nothing could be given back.
      return next.handle();
    }
    return next.handle().pipe(
      catchError((error: unknown) => {
        const charge = request.sendsCharge;
        const code = codeOf(error);
        if (
          charge === undefined ||
          code === undefined ||
          !FREE_REFUSALS.has(code) ||
          !(this.storage instanceof RedisThrottlerStorage)
        ) {
          throw error;
        }
        request.sendsCharge = undefined;
        const reply = context.switchToHttp().getResponse<FastifyReply>();
        return from(this.storage.refund(charge.key, charge.ttl).catch(() => undefined)).pipe(
          mergeMap(() => {
            void reply.header('X-RateLimit-Remaining', Math.min(charge.limit, charge.remaining + 1));
            throw error;
          }),
        );
      }),
    );
  }
}
