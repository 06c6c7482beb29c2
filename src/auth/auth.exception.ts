import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum AuthExceptionCode {
  MissingToken = 'missing_token',
  InvalidToken = 'invalid_token',
  TokenExpired = 'token_expired',
  AdminRequired = 'admin_required',
  /** A stream ticket that is unknown, expired or malformed. */
  InvalidTicket = 'invalid_ticket',
  /** A valid stream ticket presented for another session, or beside another user's token. */
  TicketForbidden = 'ticket_forbidden',
  /** The shared ticket store (Redis) cannot be reached right now. */
  TicketsUnavailable = 'unavailable',
}

const ANSWERS: Record<AuthExceptionCode, { status: HttpStatus; message: string }> = {
  [AuthExceptionCode.MissingToken]: { status: HttpStatus.UNAUTHORIZED, message: 'A bearer token is required' },
  [AuthExceptionCode.InvalidToken]: { status: HttpStatus.UNAUTHORIZED, message: 'The bearer token is not valid' },
  [AuthExceptionCode.TokenExpired]: { status: HttpStatus.UNAUTHORIZED, message: 'The bearer token has expired' },
  [AuthExceptionCode.AdminRequired]: { status: HttpStatus.FORBIDDEN, message: 'This route requires the admin role' },
  [AuthExceptionCode.InvalidTicket]: {
    status: HttpStatus.UNAUTHORIZED,
    message: 'The stream ticket is not valid or has expired; ask for a new one',
  },
  [AuthExceptionCode.TicketForbidden]: {
    status: HttpStatus.FORBIDDEN,
    message: 'The stream ticket was issued for another session or user',
  },
  [AuthExceptionCode.TicketsUnavailable]: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'Stream tickets are briefly unavailable; retry shortly',
  },
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode) {
    const { status, message } = ANSWERS[code];
    const headers: Record<string, string> =
      status === HttpStatus.UNAUTHORIZED
        ? { 'www-authenticate': 'Bearer' }
        : status === HttpStatus.SERVICE_UNAVAILABLE
          ? { 'retry-after': '1' }
          : {};
    super(code, status, message, headers);
  }
}
