import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { MeController } from './me.controller.js';
import { MeRepository } from './me.repository.js';
import { MeService } from './me.service.js';

/** The caller's own preferences (/v1/me), and what the reply pipeline reads of them. */
@Module({
  imports: [CacheModule],
  controllers: [MeController],
  providers: [MeRepository, MeService],
  exports: [MeService],
})
export class MeModule {}
