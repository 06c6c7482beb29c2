/**
 * A rule of the domain was broken. Each module has one subclass, `<Module>Exception`, built from a
 * code of its own `<Module>ExceptionCode` enum (and, where the default says too little, a message).
 * Nothing here knows HTTP: the exception filter maps each code to its status (http-exception.filter.ts)
 * and adds the request id. `retryAfterSeconds` says when trying again makes sense (a limit that
 * frees up), which the filter sends as Retry-After.
 */
export abstract class DomainException extends Error {
  protected constructor(
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export enum CommonExceptionCode {
  ValidationFailed = 'validation_failed',
  InvalidJson = 'invalid_json',
  InvalidId = 'invalid_id',
}

const COMMON_MESSAGES: Record<CommonExceptionCode, string> = {
  [CommonExceptionCode.ValidationFailed]: 'The request is not valid',
  [CommonExceptionCode.InvalidJson]: 'The body is not valid JSON',
  [CommonExceptionCode.InvalidId]: 'An id is not a UUID',
};

export class CommonException extends DomainException {
  constructor(code: CommonExceptionCode, message: string = COMMON_MESSAGES[code]) {
    super(code, message);
  }
}
