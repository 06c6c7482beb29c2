import { DomainException } from '../common/domain.exception.js';

/** What an access check can refuse: each kind of owned thing is either unknown or someone else's. */
export enum AccessExceptionCode {
  SessionNotFound = 'session_not_found',
  SessionForbidden = 'session_forbidden',
  MemoryNotFound = 'memory_not_found',
  MemoryForbidden = 'memory_forbidden',
}

const MESSAGES: Record<AccessExceptionCode, string> = {
  [AccessExceptionCode.SessionNotFound]: 'Session not found',
  [AccessExceptionCode.SessionForbidden]: 'This session belongs to another user',
  [AccessExceptionCode.MemoryNotFound]: 'Memory not found',
  [AccessExceptionCode.MemoryForbidden]: 'This memory belongs to another user',
};

export class AccessException extends DomainException {
  constructor(code: AccessExceptionCode) {
    super(code, MESSAGES[code]);
  }
}
