import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

const DECIMAL_INTEGER = /^-?\d{1,15}$/;

/**
 * A whole number in a query string, written in plain decimal digits: `0x10`, ` 5`, `1e3` or `5.0`
 * stay strings and fail `IsInt` (Number() would accept each of them). The type is checked first,
 * so a wrong type gets one message, not the range rules as well.
 */
export function QueryInt(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value,
    ),
    IsInt(),
    Min(min),
    Max(max),
  );
}
