import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import type { ParleyClsStore } from '../common/request-context.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * Refusals that store and generate nothing and so cost no send quota: a send refused because the
 * caller's replies are still pending must not also use up the minute's sends, nor a key reused
 * with another body (a repeat that found no mark, see ParleyThrottlerGuard).
 */
const FREE_REFUSALS: ReadonlySet<string> = new Set(['too_many_pending_replies', 'idempotency_key_reused']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * On the send routes: gives the `sends` hit back when a send is refused with one of FREE_REFUSALS
 * or turns out to repeat an earlier one, and marks a stored send so that its repeats are
 * recognised by the limit's own command (ParleyThrottlerGuard), before the client can repeat it.
 */
@Injectable()
export class SendQuotaRefundInterceptor implements NestInterceptor {
  private readonly storage: RedisThrottlerStorage | null;

  constructor(
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {
    this.storage = storage instanceof RedisThrottlerStorage ? storage : null;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.sendsCharge === undefined && request.sentMark === undefined) {
      // Neither charged nor repeatable (the guards ran already): nothing to give back or mark.
      return next.handle();
    }
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      mergeMap(async (answer: unknown) => {
        await this.settle(request, reply);
        return answer;
      }),
      catchError((error: unknown) => {
        const code = codeOf(error);
        if (request.sendsCharge === undefined || code === undefined || !FREE_REFUSALS.has(code)) {
          throw error;
        }
        return from(this.giveBack(request, reply)).pipe(
          mergeMap(() => {
            throw error;
          }),
        );
      }),
    );
  }

  /** After a send answered: a stored one is marked; a repeat is marked again and costs nothing. */
  private async settle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const outcome = (this.cls.get() as ParleyClsStore | undefined)?.sendOutcome;
    if (outcome === undefined || this.storage === null) {
      return;
    }
    if (request.sentMark !== undefined) {
      await this.storage.markSent(request.sentMark);
    }
    if (outcome === 'repeated') {
      await this.giveBack(request, reply);
    }
  }

  private async giveBack(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const charge = request.sendsCharge;
    if (charge === undefined || this.storage === null) {
      return;
    }
    request.sendsCharge = undefined;
    await this.storage.refund(charge.key, charge.ttl).catch(() => undefined);
    void reply.header('X-RateLimit-Remaining', Math.min(charge.limit, charge.remaining + 1));
  }
}
