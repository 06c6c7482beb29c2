import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto.js';

/** One documented error answer: its status, the `code` Parley sends with it, and what it means. */
export interface ApiErrorExample {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly description?: string;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** What a status most often means on a session route; a route passes its own where it differs. */
const DEFAULTS: Readonly<Record<number, ApiErrorExample>> = {
  400: {
    status: 400,
    code: 'validation_failed',
    message: 'sessionId must be a UUID',
    description: 'Malformed input or id (validation_failed, invalid_id, invalid_json)',
  },
  401: {
    status: 401,
    code: 'invalid_token',
    message: 'The bearer token is not valid',
    description: 'Missing, malformed, expired or forged bearer token (missing_token, invalid_token, token_expired)',
  },
  403: {
    status: 403,
    code: 'session_forbidden',
    message: 'This session belongs to another user',
    description: "Another user's session (logged and counted as a security event)",
  },
  404: {
    status: 404,
    code: 'session_not_found',
    message: 'Session not found',
    description: 'No such session',
  },
  429: {
    status: 429,
    code: 'rate_limited',
    message: 'Too many requests; retry after the time in Retry-After',
    description: 'Rate limited (Retry-After, X-RateLimit-* headers)',
  },
  503: {
    status: 503,
    code: 'overloaded',
    message: 'Overloaded; retry shortly',
    description: 'Shed under load, or a dependency briefly unavailable (Retry-After)',
  },
};

/**
 * Documents error answers with one example each that carries the status's own code, never the
 * same body for every status. `ApiErrors(400, 401, { status: 404, code: 'memory_not_found', ... })`.
 */
export function ApiErrors(...errors: ReadonlyArray<number | ApiErrorExample>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...errors.map((entry) => {
      const error = typeof entry === 'number' ? DEFAULTS[entry] : entry;
      if (error === undefined) {
        throw new Error(
          `ApiErrors: no default example for status ${typeof entry === 'number' ? entry : entry.status}; pass one`,
        );
      }
      return ApiResponse({
        status: error.status,
        type: ErrorResponseDto,
        description: error.description ?? error.code,
        example: {
          statusCode: error.status,
          error: REASONS[error.status] ?? 'Error',
          message: error.message,
          code: error.code,
          requestId: '0b8f7a52-2c1e-4f0e-9a7b-5d2f7b1c9e44',
        },
      });
    }),
  );
}
