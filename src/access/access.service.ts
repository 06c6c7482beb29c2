import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { CacheEntrySpec } from '../cache/cache-key.builder.js';
import { CacheService } from '../cache/cache.service.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { AccessResource } from './access.constants.js';
import { AccessException, AccessExceptionCode } from './access.exception.js';
import { AccessRepository } from './access.repository.js';
import { SecurityEventsService, type SecurityEventType } from './security-events.service.js';

export interface AccessRequest {
  /** The verified caller. */
  userId: string;
  resource: AccessResource;
  /** A well-formed id (callers reject malformed ones first, as 400). */
  id: string;
  /** Where the attempt came from, for the security event. */
  route: string | undefined;
}

/** The one identity of something owned, as the access check verified it. */
export interface OwnedResource {
  id: string;
  ownerId: string;
}

const REFUSALS: Record<
  AccessResource,
  { notFound: AccessExceptionCode; forbidden: AccessExceptionCode; event: SecurityEventType }
> = {
  [AccessResource.Session]: {
    notFound: AccessExceptionCode.SessionNotFound,
    forbidden: AccessExceptionCode.SessionForbidden,
    event: 'session_forbidden',
  },
  [AccessResource.Memory]: {
    notFound: AccessExceptionCode.MemoryNotFound,
    forbidden: AccessExceptionCode.MemoryForbidden,
    event: 'memory_forbidden',
  },
};

/**
 * The one access check for everything a user owns (Immich's requireAccess): unknown → not found,
 * another user's → forbidden, recorded as a security event here and nowhere else. Guards and
 * services call it alike; nothing else compares owner ids.
 */
@Injectable()
export class AccessService {
  constructor(
    private readonly access: AccessRepository,
    private readonly cache: CacheService,
    private readonly securityEvents: SecurityEventsService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  /** At once when the owner is in the in-process cache under a version this request has read. */
  requireAccess(request: AccessRequest): OwnedResource | Promise<OwnedResource> {
    if (request.resource === AccessResource.Session) {
      const cached = this.cache.cachedNow<string | null>(this.ownerSpec(request));
      if (cached !== undefined) {
        return this.verdict(request, cached.value);
      }
    }
    return this.ownerOf(request).then((ownerId) => this.verdict(request, ownerId));
  }

  private verdict(request: AccessRequest, ownerId: string | null): OwnedResource {
    const refusal = REFUSALS[request.resource];
    if (ownerId === null) {
      throw new AccessException(refusal.notFound);
    }
    if (ownerId !== request.userId) {
      this.securityEvents.record(refusal.event, {
        userId: request.userId,
        [`${request.resource}Id`]: request.id,
        requestId: this.cls.getId(),
        route: request.route,
      });
      throw new AccessException(refusal.forbidden);
    }
    return { id: request.id, ownerId };
  }

  private ownerSpec(request: AccessRequest): CacheEntrySpec {
    return { kind: 'owner', ownerId: request.userId, scopeId: request.id };
  }

  /**
   * A session's owner is cached under the caller's id and only when the caller owns it, so a cached
   * entry can never answer another user. It is kept under the session's `session-owner` counter,
   * which only deleting the session moves (404 at once): an owner never changes, so the sends and
   * replies that move the session's other counter leave it cached.
   */
  private async ownerOf(request: AccessRequest): Promise<string | null> {
    if (request.resource !== AccessResource.Session) {
      return this.access.ownerOf(request.resource, request.id);
    }
    const entry = await this.cache.getOrLoad(
      this.ownerSpec(request),
      () => this.access.ownerOf(request.resource, request.id),
      { accept: (ownerId) => ownerId === request.userId },
    );
    return entry.value;
  }
}
