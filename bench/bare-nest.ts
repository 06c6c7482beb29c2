/**
 * The framework's own floor: the bare route's Redis GET of the same body, served by NestJS on its
 * Fastify adapter (one module, one controller, nothing else: no guard, interceptor, pipe, CLS or
 * hook). What a Parley read pays beyond it is Parley's; what it pays beyond the bare Fastify
 * route is the framework's, whatever Parley does.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const bodyKey = `${process.env.REDIS_KEY_PREFIX ?? 'bench'}:bare-body`;

@Controller()
class BareController {
  @Get('bare-nest-body')
  async body(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.type('application/json; charset=utf-8');
    return (await redis.get(bodyKey)) ?? '{}';
  }

  @Get('ready')
  ready(): string {
    return 'ok';
  }
}

@Module({ controllers: [BareController] })
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
