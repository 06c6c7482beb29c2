import { Injectable, type PipeTransform } from '@nestjs/common';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from './message.dto.js';

/** Validates the Idempotency-Key header (absent, or 1-64 characters) before the handler runs. */
@Injectable()
export class IdempotencyKeyPipe implements PipeTransform<string | undefined, string | undefined> {
  transform(value: string | undefined): string | undefined {
    if (value !== undefined && (value.length === 0 || value.length > IDEMPOTENCY_KEY_MAX_LENGTH)) {
      throw new CommonException(
        CommonExceptionCode.ValidationFailed,
        `Idempotency-Key must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} characters`,
      );
    }
    return value;
  }
}
