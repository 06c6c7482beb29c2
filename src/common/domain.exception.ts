import { HttpStatus } from '@nestjs/common';

/**
 * A rule of the domain was broken. Each module subclasses it with its own code enum;
 * the global filter turns it into the JSON error body with the code and the request id.
 */
export abstract class DomainException extends Error {
  protected constructor(
    readonly code: string,
    readonly status: HttpStatus,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export enum CommonExceptionCode {
  ValidationFailed = 'validation_failed',
  InvalidJson = 'invalid_json',
  InvalidId = 'invalid_id',
  NotFound = 'not_found',
}

export class CommonException extends DomainException {
  static invalidId(name: string): CommonException {
    return new CommonException(CommonExceptionCode.InvalidId, HttpStatus.BAD_REQUEST, `${name} must be a UUID`);
  }

  static invalidJson(): CommonException {
    return new CommonException(CommonExceptionCode.InvalidJson, HttpStatus.BAD_REQUEST, 'The body is not valid JSON');
  }

  static validation(message: string): CommonException {
    return new CommonException(CommonExceptionCode.ValidationFailed, HttpStatus.BAD_REQUEST, message);
  }
}
