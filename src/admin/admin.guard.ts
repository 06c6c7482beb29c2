import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { SecurityEventsService } from '../access/security-events.service.js';

/** Admin routes: the verified token must carry `roles: ["admin"]`. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly securityEvents: SecurityEventsService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.user?.roles.includes('admin') === true) {
      return true;
    }
    this.securityEvents.record('admin_forbidden', {
      userId: request.user?.id,
      requestId: request.id,
      route: request.routeOptions.url,
    });
    throw new AuthException(AuthExceptionCode.AdminRequired);
  }
}
