import { DomainException } from '../common/domain.exception.js';

export enum SessionExceptionCode {
  /** Gone while the request ran (deleted after its access check). */
  NotFound = 'session_not_found',
  InvalidCursor = 'invalid_cursor',
  TooMany = 'too_many_sessions',
}

const MESSAGES: Record<SessionExceptionCode, string> = {
  [SessionExceptionCode.NotFound]: 'Session not found',
  [SessionExceptionCode.InvalidCursor]: 'cursor is not a cursor returned by this API',
  [SessionExceptionCode.TooMany]: 'You keep as many sessions as a user may; delete some before creating more',
};

export class SessionException extends DomainException {
  constructor(code: SessionExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
