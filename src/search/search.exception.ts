import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum SearchExceptionCode {
  InvalidCursor = 'invalid_cursor',
}

const DETAILS: Record<SearchExceptionCode, [HttpStatus, string]> = {
  [SearchExceptionCode.InvalidCursor]: [HttpStatus.BAD_REQUEST, 'cursor is not a cursor returned by this API'],
};

export class SearchException extends DomainException {
  constructor(code: SearchExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message);
  }
}
