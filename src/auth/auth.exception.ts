import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum AuthExceptionCode {
  MissingToken = 'missing_token',
  InvalidToken = 'invalid_token',
  TokenExpired = 'token_expired',
  AdminRequired = 'admin_required',
  TooManyInvalidTokens = 'rate_limited',
  /** A stream ticket that is unknown, expired or malformed. */
  InvalidTicket = 'invalid_ticket',
  /** A valid stream ticket presented for another session, or beside another user's token. */
  TicketForbidden = 'ticket_forbidden',
  /** The shared ticket store (Redis) cannot be reached right now. */
  TicketsUnavailable = 'unavailable',
}

const MESSAGES: Record<AuthExceptionCode, string> = {
  [AuthExceptionCode.MissingToken]: 'A bearer token is required',
  [AuthExceptionCode.InvalidToken]: 'The bearer token is not valid',
  [AuthExceptionCode.TokenExpired]: 'The bearer token has expired',
  [AuthExceptionCode.AdminRequired]: 'This route requires the admin role',
  [AuthExceptionCode.TooManyInvalidTokens]: 'Too many invalid tokens from this address; retry after the time in Retry-After',
  [AuthExceptionCode.InvalidTicket]: 'The stream ticket is not valid or has expired; ask for a new one',
  [AuthExceptionCode.TicketForbidden]: 'The stream ticket was issued for another session or user',
  [AuthExceptionCode.TicketsUnavailable]: 'Stream tickets are briefly unavailable; retry shortly',
};

const STATUS: Record<AuthExceptionCode, HttpStatus> = {
  [AuthExceptionCode.MissingToken]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.InvalidToken]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.TokenExpired]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.AdminRequired]: HttpStatus.FORBIDDEN,
  [AuthExceptionCode.TooManyInvalidTokens]: HttpStatus.TOO_MANY_REQUESTS,
  [AuthExceptionCode.InvalidTicket]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.TicketForbidden]: HttpStatus.FORBIDDEN,
  [AuthExceptionCode.TicketsUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode, extraHeaders: Readonly<Record<string, string>> = {}) {
    const status = STATUS[code];
    const headers: Record<string, string> =
      status === HttpStatus.UNAUTHORIZED
        ? { 'www-authenticate': 'Bearer' }
        : status === HttpStatus.SERVICE_UNAVAILABLE
          ? { 'retry-after': '1' }
          : {};
    super(code, status, MESSAGES[code], { ...headers, ...extraHeaders });
  }

  static tooManyInvalidTokens(retryAfterSeconds: number): AuthException {
    return new AuthException(AuthExceptionCode.TooManyInvalidTokens, { 'retry-after': String(retryAfterSeconds) });
  }
}
