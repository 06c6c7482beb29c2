import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { addAccessLogFields } from './access-log.js';
import { allowedMethods } from './allowed-methods.js';
import { DomainException } from './domain.exception.js';
import { PINO_LOGGER } from './logger.module.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  requestId: string;
}

export interface ErrorShape {
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
  [HttpStatus.REQUEST_TIMEOUT]: 'request_timeout',
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
  invalid_json: HttpStatus.BAD_REQUEST,
  invalid_id: HttpStatus.BAD_REQUEST,
  // auth
  missing_token: HttpStatus.UNAUTHORIZED,
  invalid_token: HttpStatus.UNAUTHORIZED,
  token_expired: HttpStatus.UNAUTHORIZED,
  admin_required: HttpStatus.FORBIDDEN,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  invalid_ticket: HttpStatus.UNAUTHORIZED,
  ticket_forbidden: HttpStatus.FORBIDDEN,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  // access, session, memory, search
  session_not_found: HttpStatus.NOT_FOUND,
  session_forbidden: HttpStatus.FORBIDDEN,
  memory_not_found: HttpStatus.NOT_FOUND,
  memory_forbidden: HttpStatus.FORBIDDEN,
  invalid_cursor: HttpStatus.BAD_REQUEST,
  too_many_sessions: HttpStatus.CONFLICT,
  too_many_memories: HttpStatus.CONFLICT,
  // messages
  message_not_found: HttpStatus.NOT_FOUND,
  parent_not_found: HttpStatus.NOT_FOUND,
  too_many_pending_replies: HttpStatus.TOO_MANY_REQUESTS,
  idempotency_key_mismatch: HttpStatus.BAD_REQUEST,
  idempotency_key_reused: HttpStatus.UNPROCESSABLE_ENTITY,
  reply_not_finished: HttpStatus.CONFLICT,
  // events
  too_many_streams: HttpStatus.TOO_MANY_REQUESTS,
  // replies
  reply_not_found: HttpStatus.NOT_FOUND,
  reply_finished: HttpStatus.CONFLICT,
  reply_control_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** Headers some codes always answer with: when to try again, how to authenticate. */
const DOMAIN_HEADERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  too_many_pending_replies: { 'retry-after': '1' },
  missing_token: { 'www-authenticate': 'Bearer' },
  invalid_token: { 'www-authenticate': 'Bearer' },
  token_expired: { 'www-authenticate': 'Bearer' },
  invalid_ticket: { 'www-authenticate': 'Bearer' },
  unavailable: { 'retry-after': '1' },
  reply_control_unavailable: { 'retry-after': '1' },
};

function fromDomainException(exception: DomainException): ErrorShape {
  const status = DOMAIN_STATUS[exception.code];
  if (status === undefined) {
    // A code without a status is a bug of ours, never the client's.
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', code: 'internal_error' };
  }
  const retryAfter = exception.retryAfterSeconds;
  const headers =
    retryAfter === undefined
      ? DOMAIN_HEADERS[exception.code]
      : { ...DOMAIN_HEADERS[exception.code], 'retry-after': String(retryAfter) };
  return { status, message: exception.message, code: exception.code, headers };
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

const CLIENT_ERROR_MESSAGES: Partial<Record<number, string>> = {
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'The body is larger than the limit',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'A body must be JSON, sent as Content-Type: application/json',
};

/** Errors raised by Fastify itself (body parsing, limits) carry a 4xx statusCode. */
function isClientError(exception: unknown): exception is Error & { statusCode: number } {
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return exception instanceof Error && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}

const RETRY_AFTER_UNAVAILABLE_SECONDS = '2';
const RETRY_AFTER_OVERLOADED_SECONDS = '1';
/** pg's pool: no connection came free within DATABASE_CONNECT_TIMEOUT_MS. */
const POOL_EXHAUSTED = /timeout exceeded when trying to connect/i;
/** query_canceled: the statement ran past DATABASE_STATEMENT_TIMEOUT_MS (set per transaction). */
const STATEMENT_TIMEOUT = '57014';
/** PostgreSQL classes that mean "not now", not "wrong": connection (08), resources (53), operator (57). */
const TRANSIENT_SQLSTATE = /^(08|53|57)/;
const TRANSIENT_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|Connection is closed|Stream isn't writeable|max retries per request/i;

/**
 * A dependency that cannot answer right now (the pool has no free connection in time, the database
 * restarts, a statement hits its timeout): the request was not wrong, so 503 with Retry-After
 * rather than a 500.
 */
function dependencyFailure(exception: unknown): 'pool_exhausted' | 'statement_timeout' | 'unavailable' | undefined {
  for (let error = exception, depth = 0; error instanceof Error && depth < 3; depth += 1) {
    const code = (error as { code?: unknown }).code;
    if (POOL_EXHAUSTED.test(error.message)) {
      return 'pool_exhausted';
    }
    if (code === STATEMENT_TIMEOUT && /statement timeout/i.test(error.message)) {
      return 'statement_timeout';
    }
    if ((typeof code === 'string' && TRANSIENT_SQLSTATE.test(code)) || TRANSIENT_MESSAGE.test(error.message)) {
      return 'unavailable';
    }
    error = (error as { driverError?: unknown; cause?: unknown }).driverError ?? (error as { cause?: unknown }).cause;
  }
  return undefined;
}

const DEPENDENCY_FAILURES: Record<NonNullable<ReturnType<typeof dependencyFailure>>, ErrorShape> = {
  // Every pooled connection stayed busy: this process sheds the request, like any other overload.
  pool_exhausted: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'Overloaded: no database connection came free in time; retry shortly',
    code: 'overloaded',
    headers: { 'retry-after': RETRY_AFTER_OVERLOADED_SECONDS },
  },
  statement_timeout: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'The database did not answer within the statement timeout; retry shortly',
    code: 'unavailable',
    headers: { 'retry-after': RETRY_AFTER_UNAVAILABLE_SECONDS },
  },
  unavailable: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'A dependency is briefly unavailable; retry shortly',
    code: 'unavailable',
    headers: { 'retry-after': RETRY_AFTER_UNAVAILABLE_SECONDS },
  },
};

export function toErrorShape(exception: unknown): ErrorShape {
  if (exception instanceof DomainException) {
    return fromDomainException(exception);
  }
  if (exception instanceof HttpException) {
    return fromHttpException(exception);
  }
  if (isClientError(exception)) {
    // Fastify's own messages may repeat the input (a content type, a path): a fixed one instead.
    return {
      status: exception.statusCode,
      message: CLIENT_ERROR_MESSAGES[exception.statusCode] ?? 'The request is malformed',
      code: CODE_BY_STATUS[exception.statusCode] ?? 'bad_request',
    };
  }
  const failure = dependencyFailure(exception);
  if (failure !== undefined) {
    return DEPENDENCY_FAILURES[failure];
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

/**
 * No route matched: 405 with `Allow` when the path exists under other methods, else 404. The
 * message never repeats the path (it may be anything a client sent).
 */
function unmatchedRoute(request: FastifyRequest): ErrorShape {
  const allow = allowedMethods.for(request.url);
  if (allow.length > 0) {
    return {
      status: HttpStatus.METHOD_NOT_ALLOWED,
      message: `This path answers ${allow.join(', ')}`,
      code: 'method_not_allowed',
      headers: { allow: allow.join(', ') },
    };
  }
  return { status: HttpStatus.NOT_FOUND, message: 'No route matches this path', code: 'not_found' };
}

/** The one place where exceptions become HTTP answers: JSON, with `requestId`, never a stack trace. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(@Inject(PINO_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const shape = request.is404 ? unmatchedRoute(request) : toErrorShape(exception);
    if (shape.status >= 500) {
      this.logger.error({ err: exception, route: request.routeOptions.url }, 'request failed');
    }
    if (shape.code !== undefined) {
      addAccessLogFields(request, { code: shape.code });
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
