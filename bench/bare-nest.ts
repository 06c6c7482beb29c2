/**
 * The framework's own floors, served by NestJS on its Fastify adapter (one module, one controller,
 * no CLS, hook or pipe), each answering with the body the bench stored in Redis:
 *
 * - `GET /bare-nest-body`: the bare route's Redis GET in a plain handler. What a Parley read pays
 *   beyond the bare Fastify route up to here is the framework's, whatever Parley does.
 * - `GET /v1/sessions/:sessionId/messages`: the shape of a cached Parley read, with nothing of
 *   Parley's in it: three guards (the first and last synchronous, the second doing the request's
 *   one Redis round trip, a GET of the body) and an interceptor that answers with that body
 *   without calling the handler. The bench sends it the very requests it sends Parley (the same
 *   paths and bearer tokens), so the load generator pays the same for both. What a Parley read
 *   pays beyond it is what Parley's own work costs: authentication, the limit, the ownership
 *   check, the cache and its headers, the hooks and the metrics.
 */
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Res,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { of, type Observable } from 'rxjs';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const bodyKey = `${process.env.REDIS_KEY_PREFIX ?? 'bench'}:bare-body`;
const JSON_TYPE = 'application/json; charset=utf-8';

type FloorRequest = FastifyRequest & { floorBody?: string };

/** Synchronous, as Parley's authentication of a token it verified before. */
@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<FloorRequest>().headers.authorization !== undefined;
  }
}

/** The request's one Redis round trip, as Parley's limit (whose command also reads the versions). */
@Injectable()
class RoundTripGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    context.switchToHttp().getRequest<FloorRequest>().floorBody = (await redis.get(bodyKey)) ?? '{}';
    return true;
  }
}

/** Synchronous, as Parley's ownership check answered from the in-process cache. */
@Injectable()
class ParamGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (
      context.switchToHttp().getRequest<FloorRequest & { params: { sessionId?: string } }>().params.sessionId !==
      undefined
    );
  }
}

/** Answers from what the guards found, without the handler, as Parley's cache on a hit. */
@Injectable()
class AnswerInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext): Observable<unknown> {
    void context.switchToHttp().getResponse<FastifyReply>().type(JSON_TYPE);
    return of(context.switchToHttp().getRequest<FloorRequest>().floorBody);
  }
}

@Controller()
class BareController {
  @Get('bare-nest-body')
  async body(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.type(JSON_TYPE);
    return (await redis.get(bodyKey)) ?? '{}';
  }

  @Get('v1/sessions/:sessionId/messages')
  @UseGuards(HeaderGuard, RoundTripGuard, ParamGuard)
  @UseInterceptors(AnswerInterceptor)
  guarded(): string {
    throw new Error('answered by the interceptor');
  }

  @Get('ready')
  ready(): string {
    return 'ok';
  }
}

@Module({ controllers: [BareController], providers: [HeaderGuard, RoundTripGuard, ParamGuard, AnswerInterceptor] })
class BareModule {}

const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.stdout.write(`listening ${await app.getUrl()}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => redis.quit())
    .then(() => process.exit(0));
});
