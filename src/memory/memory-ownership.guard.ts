import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { CommonException } from '../common/domain.exception.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { SecurityEventsService } from '../common/security-events.service.js';
import { isUuid } from '../common/uuid.util.js';
import type { MemoryEntity } from './memory.entity.js';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import { MemoryRepository } from './memory.repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    ownedMemory?: MemoryEntity;
  }
}

/**
 * Guards every route with `:memoryId`: 400 for a malformed id, 404 for an unknown memory,
 * 403 (logged and counted as a security event) for another user's memory.
 */
@Injectable()
export class MemoryOwnershipGuard implements CanActivate {
  constructor(
    private readonly memories: MemoryRepository,
    private readonly securityEvents: SecurityEventsService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { memoryId?: string } }>>();
    const user = request.user;
    if (user === undefined) {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    const memoryId = request.params.memoryId;
    if (!isUuid(memoryId)) {
      throw CommonException.invalidId('memoryId');
    }
    const memory = await this.memories.findById(memoryId);
    if (memory === null) {
      throw new MemoryException(MemoryExceptionCode.NotFound);
    }
    if (memory.ownerId !== user.id) {
      this.securityEvents.record('memory_forbidden', {
        userId: user.id,
        memoryId,
        requestId: this.cls.getId(),
        route: request.routeOptions.url,
      });
      throw new MemoryException(MemoryExceptionCode.Forbidden);
    }
    request.ownedMemory = memory;
    return true;
  }
}

/** The memory that MemoryOwnershipGuard verified the caller owns. */
export const OwnedMemory = createParamDecorator((_: unknown, context: ExecutionContext): MemoryEntity => {
  const memory = context.switchToHttp().getRequest<FastifyRequest>().ownedMemory;
  if (memory === undefined) {
    throw new Error('OwnedMemory used on a route without MemoryOwnershipGuard');
  }
  return memory;
});
