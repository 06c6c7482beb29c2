import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum EventsExceptionCode {
  TooManyStreams = 'too_many_streams',
}

/** How long a client refused a stream waits before trying again. */
const RETRY_AFTER_SECONDS = '5';

export class EventsException extends DomainException {
  static tooManyStreams(max: number): EventsException {
    return new EventsException(
      EventsExceptionCode.TooManyStreams,
      HttpStatus.TOO_MANY_REQUESTS,
      `At most ${max} event streams may be open at once per user; close one first`,
      { 'retry-after': RETRY_AFTER_SECONDS },
    );
  }
}
