import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessResource } from '../access/access.constants.js';
import { AccessService, type OwnedResource } from '../access/access.service.js';
import { requireOwnedParam } from '../auth/owned-route-param.js';

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
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    request.ownedMemory = await requireOwnedParam(this.access, request, AccessResource.Memory, 'memoryId');
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
