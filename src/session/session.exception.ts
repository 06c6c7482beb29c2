import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum SessionExceptionCode {
  NotFound = 'session_not_found',
  InvalidCursor = 'invalid_cursor',
}

const DETAILS: Record<SessionExceptionCode, [HttpStatus, string]> = {
  [SessionExceptionCode.NotFound]: [HttpStatus.NOT_FOUND, 'Session not found'],
  [SessionExceptionCode.InvalidCursor]: [HttpStatus.BAD_REQUEST, 'cursor is not a cursor returned by this API'],
};

export class SessionException extends DomainException {
  constructor(code: SessionExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message);
  }
}
