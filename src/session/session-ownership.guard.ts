import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { AccessResource } from '../access/access.constants.js';
import { AccessService, type OwnedResource } from '../access/access.service.js';
import { requireOwnedParam } from '../auth/owned-route-param.js';
import { currentStore, type ParleyClsStore } from '../common/request-context.js';

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

  /** Synchronous when the access check is (the session's owner cached for this caller). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { sessionId: string } }>>();
    const owned = requireOwnedParam(this.access, request, AccessResource.Session, 'sessionId');
    return owned instanceof Promise
      ? owned.then((session) => this.admit(request, session))
      : this.admit(request, owned);
  }

  private admit(request: FastifyRequest<{ Params: { sessionId: string } }>, session: OwnedResource): boolean {
    request.ownedSession = session;
    currentStore(this.cls).sessionId = request.params.sessionId;
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
