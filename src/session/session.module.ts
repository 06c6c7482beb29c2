import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { SessionController } from './session.controller.js';
import { SessionDeletedListeners } from './session-deleted-listeners.service.js';
import { SessionOwnershipGuard } from './session-ownership.guard.js';
import { SessionRepository } from './session.repository.js';
import { SessionService } from './session.service.js';

@Module({
  imports: [AccessModule, CacheModule],
  controllers: [SessionController],
  providers: [SessionRepository, SessionService, SessionOwnershipGuard, SessionDeletedListeners],
  exports: [SessionRepository, SessionOwnershipGuard, SessionDeletedListeners],
})
export class SessionModule {}
