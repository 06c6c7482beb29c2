import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum MemoryExceptionCode {
  NotFound = 'memory_not_found',
  Forbidden = 'memory_forbidden',
  TooMany = 'too_many_memories',
  InvalidCursor = 'invalid_cursor',
}

const DETAILS: Record<MemoryExceptionCode, [HttpStatus, string]> = {
  [MemoryExceptionCode.NotFound]: [HttpStatus.NOT_FOUND, 'Memory not found'],
  [MemoryExceptionCode.Forbidden]: [HttpStatus.FORBIDDEN, 'This memory belongs to another user'],
  [MemoryExceptionCode.InvalidCursor]: [HttpStatus.BAD_REQUEST, 'cursor is not a cursor returned by this API'],
  [MemoryExceptionCode.TooMany]: [
    HttpStatus.CONFLICT,
    'You keep as many memories as a user may; forget some before remembering more',
  ],
};

export class MemoryException extends DomainException {
  constructor(code: MemoryExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message);
  }
}
