import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum SessionExceptionCode {
  NotFound = 'session_not_found',
  Forbidden = 'session_forbidden',
  InvalidCursor = 'invalid_cursor',
  TooMany = 'too_many_sessions',
}

const DETAILS: Record<SessionExceptionCode, [HttpStatus, string]> = {
  [SessionExceptionCode.NotFound]: [HttpStatus.NOT_FOUND, 'Session not found'],
  [SessionExceptionCode.Forbidden]: [HttpStatus.FORBIDDEN, 'This session belongs to another user'],
  [SessionExceptionCode.InvalidCursor]: [HttpStatus.BAD_REQUEST, 'cursor is not a cursor returned by this API'],
  [SessionExceptionCode.TooMany]: [
    HttpStatus.CONFLICT,
    'You keep as many sessions as a user may; delete some before creating more',
  ],
};

export class SessionException extends DomainException {
  constructor(code: SessionExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message);
  }
}
