import { DomainException } from '../common/domain.exception.js';

export enum SessionExceptionCode {
  /** Gone while the request ran (deleted after its access check). */
  NotFound = 'session_not_found',
  InvalidCursor = 'invalid_cursor',
}

const MESSAGES: Record<SessionExceptionCode, string> = {
  [SessionExceptionCode.NotFound]: 'Session not found',
  [SessionExceptionCode.InvalidCursor]: 'cursor is not a cursor returned by this API',
};

export class SessionException extends DomainException {
  constructor(code: SessionExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
