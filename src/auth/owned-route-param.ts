import type { FastifyRequest } from 'fastify';
import type { AccessResource } from '../access/access.constants.js';
import type { AccessService, OwnedResource } from '../access/access.service.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { isUuid } from '../common/uuid.util.js';
import { AuthException, AuthExceptionCode } from './auth.exception.js';

/**
 * What the ownership guards share: the route's `:param` id for a signed-in caller, 400 when it is
 * not a UUID, then the one access check (404 unknown, 403 and a security event for another user's).
 * Answered at once when the access check is (a cached owner); what it refuses it throws.
 */
export function requireOwnedParam(
  access: AccessService,
  request: FastifyRequest,
  resource: AccessResource,
  param: string,
): OwnedResource | Promise<OwnedResource> {
  const user = request.user;
  if (user === undefined) {
    throw new AuthException(AuthExceptionCode.MissingToken);
  }
  const id = (request.params as Record<string, string | undefined>)[param];
  if (!isUuid(id)) {
    throw new CommonException(CommonExceptionCode.InvalidId, `${param} must be a UUID`);
  }
  return access.requireAccess({ userId: user.id, resource, id, route: request.routeOptions.url });
}
