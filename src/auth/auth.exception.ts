import { DomainException } from '../common/domain.exception.js';

export enum AuthExceptionCode {
  MissingToken = 'missing_token',
  InvalidToken = 'invalid_token',
  TokenExpired = 'token_expired',
  AdminRequired = 'admin_required',
  TooManyInvalidTokens = 'rate_limited',
}

const MESSAGES: Record<AuthExceptionCode, string> = {
  [AuthExceptionCode.MissingToken]: 'A bearer token is required',
  [AuthExceptionCode.InvalidToken]: 'The bearer token is not valid',
  [AuthExceptionCode.TokenExpired]: 'The bearer token has expired',
  [AuthExceptionCode.AdminRequired]: 'This route requires the admin role',
  [AuthExceptionCode.TooManyInvalidTokens]: 'Too many invalid tokens from this address; retry after the time in Retry-After',
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode, message: string = MESSAGES[code], retryAfterSeconds?: number) {
    super(code, message, retryAfterSeconds);
  }
}
