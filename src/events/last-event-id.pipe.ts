import { Injectable, type PipeTransform } from '@nestjs/common';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { isEventId } from '../coordination/event-stream.port.js';

/** Validates a Last-Event-ID (header or query): absent, or an event id such as 1767225600000-0. */
@Injectable()
export class LastEventIdPipe implements PipeTransform<string | undefined, string | undefined> {
  transform(value: string | undefined): string | undefined {
    if (value !== undefined && !isEventId(value)) {
      throw new CommonException(
        CommonExceptionCode.ValidationFailed,
        'Last-Event-ID must be an event id such as 1767225600000-0',
      );
    }
    return value;
  }
}
