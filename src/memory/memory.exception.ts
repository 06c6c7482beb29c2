import { DomainException } from '../common/domain.exception.js';

export enum MemoryExceptionCode {
  /** Gone while the request ran (forgotten after its access check). */
  NotFound = 'memory_not_found',
  TooMany = 'too_many_memories',
  InvalidCursor = 'invalid_cursor',
}

const MESSAGES: Record<MemoryExceptionCode, string> = {
  [MemoryExceptionCode.NotFound]: 'Memory not found',
  [MemoryExceptionCode.TooMany]: 'You keep as many memories as a user may; forget some before remembering more',
  [MemoryExceptionCode.InvalidCursor]: 'cursor is not a cursor returned by this API',
};

export class MemoryException extends DomainException {
  constructor(code: MemoryExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
