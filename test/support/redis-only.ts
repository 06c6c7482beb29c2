import { pino } from 'pino';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { RedisService } from '../../src/redis/redis.service.js';

const silent = pino({ level: 'silent' });

/** The configuration of a component that talks to Redis alone (its database is never opened). */
export function redisOnlyConfig(redisUrl: string, prefix: string): AppConfig {
  return loadConfig({
    REDIS_URL: redisUrl,
    DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused',
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: 'x'.repeat(32),
  });
}

/** One process's Redis connections under `prefix`, connected: as each app process has its own. */
export async function connectRedis(redisUrl: string, prefix: string): Promise<RedisService> {
  const redis = new RedisService(redisOnlyConfig(redisUrl, prefix), silent);
  await redis.connect();
  return redis;
}
