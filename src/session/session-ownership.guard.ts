import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { AccessResource } from '../access/access.constants.js';
import { AccessService, type OwnedResource } from '../access/access.service.js';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { isUuid } from '../common/uuid.util.js';

declare module 'fastify' {
  interface FastifyRequest {
    ownedSession?: OwnedResource;
  }
}

/**
 * Guards every route with `:sessionId`: 400 for a malformed id, then the access check (404 for an
 * unknown session, 403 and a security event for another user's).
 */
@Injectable()
export class SessionOwnershipGuard implements CanActivate {
  constructor(
    private readonly access: AccessService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { sessionId?: string } }>>();
    const user = request.user;
    if (user === undefined) {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    const sessionId = request.params.sessionId;
    if (!isUuid(sessionId)) {
      throw new CommonException(CommonExceptionCode.InvalidId, 'sessionId must be a UUID');
    }
    request.ownedSession = await this.access.requireAccess({
      userId: user.id,
      resource: AccessResource.Session,
      id: sessionId,
      route: request.routeOptions.url,
    });
    this.cls.set('sessionId', sessionId);
    return true;
  }
}

/** The session that SessionOwnershipGuard verified the caller owns. */
export const OwnedSession = createParamDecorator((_: unknown, context: ExecutionContext): OwnedResource => {
  const session = context.switchToHttp().getRequest<FastifyRequest>().ownedSession;
  if (session === undefined) {
    throw new Error('OwnedSession used on a route without SessionOwnershipGuard');
  }
  return session;
});
