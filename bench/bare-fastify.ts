/**
 * The baseline: a bare Fastify route doing the same Redis GET that every Parley request pays
 * for, on the same machine, in the same run. Parley's throughput is reported relative to it.
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const key = `${process.env.REDIS_KEY_PREFIX ?? 'bench'}:bare`;
await redis.set(key, JSON.stringify({ hello: 'world' }));

const app = Fastify({ logger: false });
app.get('/bare', async () => JSON.parse((await redis.get(key)) ?? '{}') as unknown);
// A body the bench stores here (a cached history page): the same bytes a Parley read answers with.
const bodyKey = `${key}-body`;
app.get('/bare-body', async (_request, reply) =>
  reply.type('application/json; charset=utf-8').send((await redis.get(bodyKey)) ?? '{}'),
);
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => redis.quit())
    .then(() => process.exit(0));
});
