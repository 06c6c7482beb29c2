import { DomainException } from '../common/domain.exception.js';

export enum EventsExceptionCode {
  TooManyStreams = 'too_many_streams',
}

const MESSAGES: Record<EventsExceptionCode, string> = {
  [EventsExceptionCode.TooManyStreams]: 'Too many event streams are open for this user; close one first',
};

/** How long a client refused a stream waits before trying again. */
export const STREAM_RETRY_AFTER_SECONDS = 5;

export class EventsException extends DomainException {
  constructor(code: EventsExceptionCode, message: string = MESSAGES[code], retryAfterSeconds?: number) {
    super(code, message, retryAfterSeconds);
  }
}
