import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { CacheService } from '../cache/cache.service.js';
import { CommonException } from '../common/domain.exception.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { SecurityEventsService } from '../common/security-events.service.js';
import { isUuid } from '../common/uuid.util.js';
import type { SessionEntity } from './session.entity.js';
import { SessionException, SessionExceptionCode } from './session.exception.js';
import { SessionRepository } from './session.repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    chatSession?: SessionEntity;
  }
}

/**
 * Guards every route with `:sessionId`: 400 for a malformed id, 404 for an unknown session,
 * 403 (logged and counted as a security event) for another user's session.
 */
@Injectable()
export class SessionOwnershipGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly securityEvents: SecurityEventsService,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly cache: CacheService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { sessionId?: string } }>>();
    const user = request.user;
    if (user === undefined) {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    const sessionId = request.params.sessionId;
    if (!isUuid(sessionId)) {
      throw CommonException.invalidId('sessionId');
    }
    const session = await this.findSession(sessionId, user.id);
    if (session === null) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
    if (session.ownerId !== user.id) {
      this.securityEvents.record('session_forbidden', {
        userId: user.id,
        sessionId,
        requestId: this.cls.getId(),
        route: request.routeOptions.url,
      });
      throw new SessionException(SessionExceptionCode.Forbidden);
    }
    this.cls.set('sessionId', sessionId);
    request.chatSession = session;
    return true;
  }

  /**
   * Cached under the caller's id and only when the caller owns the session, so a cached entry can
   * never answer another user: their look-up has a key of their own, which is never filled.
   */
  private async findSession(sessionId: string, userId: string): Promise<SessionEntity | null> {
    const entry = await this.cache.getOrLoad(
      { kind: 'session', ownerId: userId, scopeId: sessionId },
      () => this.sessions.findById(sessionId),
      { accept: (session) => session?.ownerId === userId, revive: reviveSession },
    );
    return entry.value;
  }
}

function reviveSession(parsed: unknown): SessionEntity {
  const session = parsed as SessionEntity & { createdAt: string; updatedAt: string };
  return { ...session, createdAt: new Date(session.createdAt), updatedAt: new Date(session.updatedAt) };
}

/** The session that SessionOwnershipGuard verified the caller owns. */
export const OwnedSession = createParamDecorator((_: unknown, context: ExecutionContext): SessionEntity => {
  const session = context.switchToHttp().getRequest<FastifyRequest>().chatSession;
  if (session === undefined) {
    throw new Error('OwnedSession used on a route without SessionOwnershipGuard');
  }
  return session;
});
