import { DomainException } from '../common/domain.exception.js';

export enum SearchExceptionCode {
  InvalidCursor = 'invalid_cursor',
}

const MESSAGES: Record<SearchExceptionCode, string> = {
  [SearchExceptionCode.InvalidCursor]: 'cursor is not a cursor returned by this API',
};

export class SearchException extends DomainException {
  constructor(code: SearchExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
