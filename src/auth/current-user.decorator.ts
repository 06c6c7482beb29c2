import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthException, AuthExceptionCode } from './auth.exception.js';
import type { AuthenticatedUser } from './authenticated-user.js';

/** The verified user of the request; never taken from a body field or a custom header. */
export const CurrentUser = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedUser => {
  const user = context.switchToHttp().getRequest<FastifyRequest>().user;
  if (user === undefined) {
    throw new AuthException(AuthExceptionCode.MissingToken);
  }
  return user;
});
