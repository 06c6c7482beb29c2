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
  [AuthExceptionCode.TooManyInvalidTokens]:
    'Too many invalid tokens from this address; retry after the time in Retry-After',
  [AuthExceptionCode.InvalidTicket]: 'The stream ticket is not valid or has expired; ask for a new one',
  [AuthExceptionCode.TicketForbidden]: 'The stream ticket was issued for another session or user',
  [AuthExceptionCode.TicketsUnavailable]: 'Stream tickets are briefly unavailable; retry shortly',
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode, message: string = MESSAGES[code], retryAfterSeconds?: number) {
    super(code, message, retryAfterSeconds);
  }
}
