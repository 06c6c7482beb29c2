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
 * - `POST /v1/sessions/:sessionId/messages` (with DATABASE_URL): the send's floor, what the
 *   framework and the drivers cost for the send's essential work with nothing of Parley's: the
 *   JSON body, a guard doing one Redis round trip (as the send's limit), and the send's own SQL
 *   transaction (the one pgbench runs: the opening, the owner's lock, the session row's lock,
 *   PLAIN_EXCHANGE_SQL and the COMMIT) pipelined in one write on a pool of Parley's pipelining
 *   client and size, its statements prepared as pgbench's are; it answers 202 with the two rows.
 *   No event, no job, no version, no validation, no log: what Parley's send pays beyond it is its
 *   own work.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Param,
  Post,
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
import pg from 'pg';
import { of, type Observable } from 'rxjs';
import { PipelinedClient } from '../src/database/transaction-timeouts.client.js';
import { OWNER_LOCK_SQL, PLAIN_EXCHANGE_SQL } from '../src/messages/message.repository.js';
import { LOCK_OWNED_SESSION_SQL } from '../src/session/session.repository.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const bodyKey = `${process.env.REDIS_KEY_PREFIX ?? 'bench'}:bare-body`;
const JSON_TYPE = 'application/json; charset=utf-8';

type FloorRequest = FastifyRequest & { floorBody?: string; floorOwner?: string };

/** The send floor's connections: Parley's pipelining client, as many as Parley's pool holds. */
const pool =
  process.env.DATABASE_URL === undefined
    ? null
    : new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
        Client: PipelinedClient,
      });
const MAX_PENDING = Number(process.env.MAX_PENDING_REPLIES ?? 10);
const sendLimitKey = `${process.env.REDIS_KEY_PREFIX ?? 'bench'}:floor-sends`;

/** A bearer token's subject, read once per token (unverified: the floor pays no signature check, as Parley's known tokens). */
const owners = new Map<string, string>();
function ownerOf(header: string | undefined): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  let owner = owners.get(header);
  if (owner === undefined) {
    const payload = header.split('.')[1] ?? '';
    owner = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub: string }).sub;
    owners.set(header, owner);
  }
  return owner;
}

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

/** The send's caller, synchronous as Parley's authentication of a token it verified before. */
@Injectable()
class OwnerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FloorRequest>();
    request.floorOwner = ownerOf(request.headers.authorization);
    return request.floorOwner !== undefined;
  }
}

/** The send's one Redis round trip before its work, as Parley's limit. */
@Injectable()
class SendLimitGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    return (await redis.incr(sendLimitKey)) > 0;
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

  @Post('v1/sessions/:sessionId/messages')
  @HttpCode(202)
  @UseGuards(OwnerGuard, SendLimitGuard, ParamGuard)
  async send(
    @Param('sessionId') sessionId: string,
    @Body() body: { content: string; clientMessageId: string },
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    if (pool === null) {
      throw new Error('no DATABASE_URL');
    }
    const owner = (reply.request as FloorRequest).floorOwner ?? '';
    const client = await pool.connect();
    const values = [
      randomUUID(),
      randomUUID(),
      sessionId,
      owner,
      body.content,
      body.clientMessageId,
      'floor',
      MAX_PENDING,
    ];
    const answers = await Promise.allSettled([
      client.query('START TRANSACTION'),
      client.query({ name: 'floor_lock', text: OWNER_LOCK_SQL, values: [`pending:${owner}`] }),
      client.query({ name: 'floor_session', text: LOCK_OWNED_SESSION_SQL, values: [sessionId, owner] }),
      client.query({ name: 'floor_exchange', text: PLAIN_EXCHANGE_SQL, values }),
      client.query('COMMIT'),
    ]);
    const failed = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    // A connection whose statements failed is closed rather than handed to the next send.
    client.release(failed === undefined ? undefined : (failed.reason as Error));
    if (failed !== undefined) {
      throw failed.reason;
    }
    const exchange = answers[3] as PromiseFulfilledResult<pg.QueryResult>;
    if (exchange.value.rows.length !== 2) {
      // Its checks refused it (as Parley's plain send would, before its full transaction): a failure here.
      throw new ConflictException('the exchange was not stored');
    }
    return { message: exchange.value.rows[0] as unknown, reply: exchange.value.rows[1] as unknown };
  }

  @Get('ready')
  ready(): string {
    return 'ok';
  }
}

@Module({
  controllers: [BareController],
  providers: [HeaderGuard, RoundTripGuard, ParamGuard, AnswerInterceptor, OwnerGuard, SendLimitGuard],
})
class BareModule {}

const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.stdout.write(`listening ${await app.getUrl()}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => Promise.all([redis.quit(), pool?.end()]))
    .then(() => process.exit(0));
});
