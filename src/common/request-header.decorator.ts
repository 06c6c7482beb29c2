import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/**
 * One request header as a string (undefined when absent or repeated). Unlike @Headers(), it takes
 * pipes, so a header is validated like a body: `@RequestHeader('idempotency-key', IdempotencyKeyPipe)`.
 */
export const RequestHeader = createParamDecorator((name: string, context: ExecutionContext): string | undefined => {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
});
