import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum MemoryExceptionCode {
  NotFound = 'memory_not_found',
  TooMany = 'too_many_memories',
}

const DETAILS: Record<MemoryExceptionCode, [HttpStatus, string]> = {
  [MemoryExceptionCode.NotFound]: [HttpStatus.NOT_FOUND, 'Memory not found'],
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
