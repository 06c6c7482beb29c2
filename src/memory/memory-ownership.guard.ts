import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessResource } from '../access/access.constants.js';
import { AccessService, type OwnedResource } from '../access/access.service.js';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { isUuid } from '../common/uuid.util.js';

declare module 'fastify' {
  interface FastifyRequest {
    ownedMemory?: OwnedResource;
  }
}

/**
 * Guards every route with `:memoryId`: 400 for a malformed id, then the access check (404 for an
 * unknown memory, 403 and a security event for another user's).
 */
@Injectable()
export class MemoryOwnershipGuard implements CanActivate {
  constructor(private readonly access: AccessService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { memoryId?: string } }>>();
    const user = request.user;
    if (user === undefined) {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    const memoryId = request.params.memoryId;
    if (!isUuid(memoryId)) {
      throw new CommonException(CommonExceptionCode.InvalidId, 'memoryId must be a UUID');
    }
    request.ownedMemory = await this.access.requireAccess({
      userId: user.id,
      resource: AccessResource.Memory,
      id: memoryId,
      route: request.routeOptions.url,
    });
    return true;
  }
}

/** The memory that MemoryOwnershipGuard verified the caller owns. */
export const OwnedMemory = createParamDecorator((_: unknown, context: ExecutionContext): OwnedResource => {
  const memory = context.switchToHttp().getRequest<FastifyRequest>().ownedMemory;
  if (memory === undefined) {
    throw new Error('OwnedMemory used on a route without MemoryOwnershipGuard');
  }
  return memory;
});
