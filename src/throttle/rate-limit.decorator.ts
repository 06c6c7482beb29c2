import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiServiceUnavailableResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { SendQuotaRefundInterceptor } from './send-quota-refund.interceptor.js';

export type RateLimitName = 'sends' | 'reads' | 'dev-tokens';
export const RATE_LIMIT = 'parley:rate-limit';
export const IDEMPOTENT_SEND = 'parley:idempotent-send';

/**
 * Marks a route whose repeats are recognised by their idempotency key (the send routes): a repeat
 * of an earlier send costs no quota. Every other route under `sends` (session writes) pays for
 * each request, whatever headers or body fields it carries.
 */
export const IdempotentSend = (): MethodDecorator => SetMetadata(IDEMPOTENT_SEND, true);

const integer = { schema: { type: 'integer' } } as const;

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': { description: 'Requests allowed in the window', ...integer },
  'X-RateLimit-Remaining': { description: 'Requests left in the current window', ...integer },
  'X-RateLimit-Reset': { description: 'Seconds until the window resets', ...integer },
};

/**
 * Puts a route (or every route of a controller) under one named limit and documents the answers
 * that come with it: 429 `rate_limited` and 503 `overloaded`, both with `Retry-After`. Routes
 * without it (health, metrics, docs) are never limited. A `sends` route also gets the interceptor
 * that gives a free refusal's hit back; no other route can be charged a send, and an interceptor
 * on every route would cost every read a layer of Nest's interceptor chain.
 */
export const RateLimit = (name: RateLimitName): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMIT, name),
    ...(name === 'sends' ? [UseInterceptors(SendQuotaRefundInterceptor)] : []),
    ApiTooManyRequestsResponse({
      type: ErrorResponseDto,
      description:
        name === 'sends'
          ? 'rate_limited: the "sends" limit is used up; too_many_pending_replies: too many replies still pending'
          : `rate_limited: the "${name}" limit is used up`,
      headers: {
        'Retry-After': { description: 'Seconds to wait before retrying', ...integer },
        ...RATE_LIMIT_HEADERS,
      },
    }),
    ApiServiceUnavailableResponse({
      type: ErrorResponseDto,
      description: 'overloaded: the server sheds load; retry after Retry-After seconds',
      headers: { 'Retry-After': { description: 'Seconds to wait before retrying', ...integer } },
    }),
  );
