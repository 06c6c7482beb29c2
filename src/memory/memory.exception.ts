import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum MemoryExceptionCode {
  NotFound = 'memory_not_found',
  Forbidden = 'memory_forbidden',
}

const DETAILS: Record<MemoryExceptionCode, [HttpStatus, string]> = {
  [MemoryExceptionCode.NotFound]: [HttpStatus.NOT_FOUND, 'Memory not found'],
  [MemoryExceptionCode.Forbidden]: [HttpStatus.FORBIDDEN, 'This memory belongs to another user'],
};

export class MemoryException extends DomainException {
  constructor(code: MemoryExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message);
  }
}
