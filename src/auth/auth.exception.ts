import { HttpStatus } from '@nestjs/common';
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

const STATUS: Record<AuthExceptionCode, HttpStatus> = {
  [AuthExceptionCode.MissingToken]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.InvalidToken]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.TokenExpired]: HttpStatus.UNAUTHORIZED,
  [AuthExceptionCode.AdminRequired]: HttpStatus.FORBIDDEN,
  [AuthExceptionCode.TooManyInvalidTokens]: HttpStatus.TOO_MANY_REQUESTS,
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode, extraHeaders: Readonly<Record<string, string>> = {}) {
    const status = STATUS[code];
    const headers: Record<string, string> =
      status === HttpStatus.UNAUTHORIZED ? { 'www-authenticate': 'Bearer' } : {};
    super(code, status, MESSAGES[code], { ...headers, ...extraHeaders });
  }

  static tooManyInvalidTokens(retryAfterSeconds: number): AuthException {
    return new AuthException(AuthExceptionCode.TooManyInvalidTokens, { 'retry-after': String(retryAfterSeconds) });
  }
}
