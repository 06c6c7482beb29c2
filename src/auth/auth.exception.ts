import { DomainException } from '../common/domain.exception.js';

export enum AuthExceptionCode {
  MissingToken = 'missing_token',
  InvalidToken = 'invalid_token',
  TokenExpired = 'token_expired',
  AdminRequired = 'admin_required',
}

const MESSAGES: Record<AuthExceptionCode, string> = {
  [AuthExceptionCode.MissingToken]: 'A bearer token is required',
  [AuthExceptionCode.InvalidToken]: 'The bearer token is not valid',
  [AuthExceptionCode.TokenExpired]: 'The bearer token has expired',
  [AuthExceptionCode.AdminRequired]: 'This route requires the admin role',
};

export class AuthException extends DomainException {
  constructor(code: AuthExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
