import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { IS_PUBLIC } from '../common/public.decorator.js';
import { RouteMetadata } from '../common/route-metadata.js';
import { currentStore, type ParleyClsStore } from '../common/request-context.js';
import { AuthException, AuthExceptionCode } from './auth.exception.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { bearerToken } from './bearer.util.js';
import { InvalidTokenLimiter } from './invalid-token.limiter.js';
import { ACCEPTS_STREAM_TICKET } from './stream-ticket.decorator.js';
import { StreamTicketService } from './stream-ticket.service.js';
import { TokenService } from './token.service.js';

type GuardedRequest = FastifyRequest<{ Params: { sessionId?: string }; Querystring: { ticket?: unknown } }>;

/**
 * Global default-deny: every route needs a verified bearer token unless marked @Public(); a route
 * marked @AcceptsStreamTicket() takes a stream ticket for its session instead.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadata<boolean>;
  private readonly acceptsStreamTicket: RouteMetadata<boolean>;

  constructor(
    reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly invalidTokens: InvalidTokenLimiter,
    private readonly tickets: StreamTicketService,
  ) {
    this.isPublic = RouteMetadata.overridable(reflector, IS_PUBLIC);
    this.acceptsStreamTicket = RouteMetadata.overridable(reflector, ACCEPTS_STREAM_TICKET);
  }

  /**
   * Synchronous for the common request, a bearer token this process verified recently: Nest then
   * goes on to the next guard without awaiting anything.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic.get(context) === true) {
      return true;
    }
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const ticket = this.acceptsTicket(context) ? request.query.ticket : undefined;
    const header = request.headers.authorization;
    if (ticket === undefined && header !== undefined && header !== '') {
      const token = bearerToken(header);
      const known = token === undefined ? undefined : this.tokens.knownUser(token);
      if (known !== undefined) {
        this.admit(request, known);
        return true;
      }
    }
    return this.authenticate(request, ticket, header);
  }

  private async authenticate(request: GuardedRequest, ticket: unknown, header: string | undefined): Promise<boolean> {
    let user = header === undefined || header === '' ? undefined : await this.verifyBearer(request, header);
    if (ticket !== undefined) {
      // Read-only: the ticket's user, with no role, for this session's events alone, until the
      // ticket expires (or a bearer token sent beside it, whichever is first).
      const redeemed = await this.tickets.redeem(ticket, request.params.sessionId, user?.id);
      const bearerExpiresAtMs = user?.expiresAtMs ?? Number.POSITIVE_INFINITY;
      user = { id: redeemed.userId, roles: [], expiresAtMs: Math.min(redeemed.expiresAtMs, bearerExpiresAtMs) };
    }
    if (user === undefined) {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    this.admit(request, user);
    return true;
  }

  private admit(request: GuardedRequest, user: AuthenticatedUser): void {
    request.user = user;
    currentStore(this.cls).userId = user.id;
  }

  private acceptsTicket(context: ExecutionContext): boolean {
    return this.acceptsStreamTicket.get(context) === true;
  }

  private async verifyBearer(request: FastifyRequest, header: string): Promise<AuthenticatedUser> {
    const token = bearerToken(header);
    return (token === undefined ? undefined : this.tokens.knownUser(token)) ?? (await this.verifyNew(request, token));
  }

  /** A token this process has not verified yet: refused unverified while its IP is over the limit. */
  private async verifyNew(request: FastifyRequest, token: string | undefined): Promise<AuthenticatedUser> {
    const blockedFor = await this.invalidTokens.blockedFor(request.ip);
    if (blockedFor !== undefined) {
      throw new AuthException(AuthExceptionCode.TooManyInvalidTokens, undefined, blockedFor);
    }
    try {
      if (token === undefined) {
        throw new AuthException(AuthExceptionCode.InvalidToken);
      }
      return await this.tokens.verify(token);
    } catch (error) {
      if (error instanceof AuthException && (error.code as AuthExceptionCode) === AuthExceptionCode.InvalidToken) {
        await this.invalidTokens.recordInvalid(request.ip, request.routeOptions.url);
      }
      throw error;
    }
  }
}
