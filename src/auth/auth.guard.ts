import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { IS_PUBLIC } from '../common/public.decorator.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { AuthException, AuthExceptionCode } from './auth.exception.js';
import { TokenService } from './token.service.js';

const BEARER = /^Bearer ([A-Za-z0-9_.-]+)$/;

/** Global default-deny: every route needs a verified bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic === true) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw new AuthException(AuthExceptionCode.MissingToken);
    }
    const match = BEARER.exec(header);
    if (!match?.[1]) {
      throw new AuthException(AuthExceptionCode.InvalidToken);
    }
    const user = await this.tokens.verify(match[1]);
    request.user = user;
    this.cls.set('userId', user.id);
    return true;
  }
}
