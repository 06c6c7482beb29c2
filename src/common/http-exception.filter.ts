import { STATUS_CODES } from 'node:http';
import {
  Catch,
  HttpException,
  HttpStatus,
  Inject,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DomainException } from './domain.exception.js';
import { PINO_LOGGER } from './logger.module.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  requestId: string;
}

interface ErrorShape {
  status: number;
  message: string;
  code?: string;
  headers?: Readonly<Record<string, string>>;
}

const CODE_BY_STATUS: Partial<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'bad_request',
  [HttpStatus.UNAUTHORIZED]: 'unauthorized',
  [HttpStatus.FORBIDDEN]: 'forbidden',
  [HttpStatus.NOT_FOUND]: 'not_found',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'method_not_allowed',
  [HttpStatus.CONFLICT]: 'conflict',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'payload_too_large',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'unsupported_media_type',
  [HttpStatus.TOO_MANY_REQUESTS]: 'rate_limited',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'unavailable',
};

/**
 * The HTTP status of every domain code, of every module's `<Module>ExceptionCode` enum: the one
 * place where the domain meets HTTP (http-exception.filter.spec.ts checks that no code is missing).
 * Keyed by the code's value, so that common depends on no feature module.
 */
export const DOMAIN_STATUS: Readonly<Record<string, HttpStatus>> = {
  // common
  validation_failed: HttpStatus.BAD_REQUEST,
  invalid_id: HttpStatus.BAD_REQUEST,
  // auth
  missing_token: HttpStatus.UNAUTHORIZED,
  invalid_token: HttpStatus.UNAUTHORIZED,
  token_expired: HttpStatus.UNAUTHORIZED,
  admin_required: HttpStatus.FORBIDDEN,
  // access, session, memory
  session_not_found: HttpStatus.NOT_FOUND,
  session_forbidden: HttpStatus.FORBIDDEN,
  memory_not_found: HttpStatus.NOT_FOUND,
  memory_forbidden: HttpStatus.FORBIDDEN,
  invalid_cursor: HttpStatus.BAD_REQUEST,
  too_many_memories: HttpStatus.CONFLICT,
  // messages
  message_not_found: HttpStatus.NOT_FOUND,
  too_many_pending_replies: HttpStatus.TOO_MANY_REQUESTS,
  idempotency_key_mismatch: HttpStatus.BAD_REQUEST,
};

/** Headers some codes answer with: when to try again, how to authenticate. */
const DOMAIN_HEADERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  too_many_pending_replies: { 'retry-after': '1' },
  missing_token: { 'www-authenticate': 'Bearer' },
  invalid_token: { 'www-authenticate': 'Bearer' },
  token_expired: { 'www-authenticate': 'Bearer' },
};

function fromDomainException(exception: DomainException): ErrorShape {
  const status = DOMAIN_STATUS[exception.code];
  if (status === undefined) {
    // A code without a status is a bug of ours, never the client's.
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', code: 'internal_error' };
  }
  return { status, message: exception.message, code: exception.code, headers: DOMAIN_HEADERS[exception.code] };
}

function fromHttpException(exception: HttpException): ErrorShape {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'object' && response !== null) {
    const { message, code } = response as { message?: unknown; code?: unknown };
    if (Array.isArray(message)) {
      return { status, message: message.map(String).join('; '), code: 'validation_failed' };
    }
    return {
      status,
      message: typeof message === 'string' ? message : exception.message,
      code: typeof code === 'string' ? code : CODE_BY_STATUS[status],
    };
  }
  return { status, message: String(response), code: CODE_BY_STATUS[status] };
}

/** Errors raised by Fastify itself (body parsing, limits) carry a 4xx statusCode. */
function isClientError(exception: unknown): exception is Error & { statusCode: number } {
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return (
    exception instanceof Error && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
  );
}

const RETRY_AFTER_UNAVAILABLE_SECONDS = '2';
/** PostgreSQL classes that mean "not now", not "wrong": connection (08), resources (53), operator (57). */
const TRANSIENT_SQLSTATE = /^(08|53|57)/;
const TRANSIENT_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|Connection is closed|Stream isn't writeable|max retries per request/i;

/**
 * A dependency that cannot answer right now (the pool has no free connection in time, the database
 * restarts, a statement hits its timeout): the request was not wrong, so 503 with Retry-After
 * rather than a 500.
 */
function isDependencyUnavailable(exception: unknown): boolean {
  for (let error = exception, depth = 0; error instanceof Error && depth < 3; depth += 1) {
    const code = (error as { code?: unknown }).code;
    if (
      (typeof code === 'string' && TRANSIENT_SQLSTATE.test(code)) ||
      TRANSIENT_MESSAGE.test(error.message)
    ) {
      return true;
    }
    error =
      (error as { driverError?: unknown; cause?: unknown }).driverError ??
      (error as { cause?: unknown }).cause;
  }
  return false;
}

export function toErrorShape(exception: unknown): ErrorShape {
  if (exception instanceof DomainException) {
    return fromDomainException(exception);
  }
  if (exception instanceof HttpException) {
    return fromHttpException(exception);
  }
  if (isClientError(exception)) {
    return {
      status: exception.statusCode,
      message: exception.message,
      code: CODE_BY_STATUS[exception.statusCode],
    };
  }
  if (isDependencyUnavailable(exception)) {
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'A dependency is briefly unavailable; retry shortly',
      code: 'unavailable',
      headers: { 'retry-after': RETRY_AFTER_UNAVAILABLE_SECONDS },
    };
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    message: 'Internal server error',
    code: 'internal_error',
  };
}

export function errorBody(shape: ErrorShape, requestId: string): ErrorBody {
  return {
    statusCode: shape.status,
    error: STATUS_CODES[shape.status] ?? 'Error',
    message: shape.message,
    ...(shape.code === undefined ? {} : { code: shape.code }),
    requestId,
  };
}

/** A failed health check: Terminus's own report (`status`, `info`, `error`, `details`). */
function terminusReport(exception: unknown): Record<string, unknown> | undefined {
  if (!(exception instanceof HttpException)) {
    return undefined;
  }
  const response = exception.getResponse();
  return typeof response === 'object' && response !== null && 'details' in response && 'status' in response
    ? response
    : undefined;
}

/** The one place where exceptions become HTTP answers: JSON, with `requestId`, never a stack trace. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(@Inject(PINO_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const shape = toErrorShape(exception);
    if (shape.status >= 500) {
      this.logger.error({ err: exception, route: request.routeOptions.url }, 'request failed');
    }
    if (reply.sent) {
      return;
    }
    const healthReport = terminusReport(exception);
    if (healthReport) {
      // Probes and operators read Terminus's JSON naming what failed: keep it whole.
      reply.status(shape.status).send({ ...healthReport, requestId: request.id });
      return;
    }
    reply
      .status(shape.status)
      .headers(shape.headers ?? {})
      .send(errorBody(shape, request.id));
  }
}
