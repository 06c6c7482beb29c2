import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { RedisService } from './redis.service.js';

@Global()
@Module({
  providers: [
    {
      provide: RedisService,
      inject: [AppConfig, PINO_LOGGER],
      useFactory: async (config: AppConfig, logger: Logger): Promise<RedisService> => {
        const service = new RedisService(config, logger);
        await service.connect();
        return service;
      },
    },
  ],
  exports: [RedisService],
})
export class RedisModule {}
