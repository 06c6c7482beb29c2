import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { AccessRepository } from './access.repository.js';
import { AccessService } from './access.service.js';
import { SecurityEventsService } from './security-events.service.js';

/** Who may touch what: the one ownership check and the security events it and the auth guards record. */
@Module({
  imports: [CacheModule],
  providers: [AccessRepository, AccessService, SecurityEventsService],
  exports: [AccessService, SecurityEventsService],
})
export class AccessModule {}
