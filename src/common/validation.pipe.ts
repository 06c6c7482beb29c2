import { Injectable, ValidationPipe, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

const COMMON_OPTIONS = {
  transform: true,
  whitelist: true,
  // One message per property: `limit=abc` is "must be an integer", not three contradicting rules.
  stopAtFirstError: true,
} as const;

/**
 * The global validation pipe. Bodies refuse unknown properties (a typo must not be ignored
 * silently); query strings drop them, so that a cache-busting `?_=123` or a tracking parameter
 * never turns a read into a 400.
 */
@Injectable()
export class ParleyValidationPipe implements PipeTransform<unknown> {
  private readonly strict = new ValidationPipe({ ...COMMON_OPTIONS, forbidNonWhitelisted: true });
  private readonly lenient = new ValidationPipe({ ...COMMON_OPTIONS, forbidNonWhitelisted: false });

  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return (metadata.type === 'query' ? this.lenient : this.strict).transform(value, metadata) as Promise<unknown>;
  }
}
