import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { EventsModule } from '../events/events.module.js';
import { RepliesModule } from '../replies/replies.module.js';
import { SessionModule } from '../session/session.module.js';
import { SendRetryDetector } from '../throttle/send-retry.port.js';
import { MessageController } from './message.controller.js';
import { MessageSearchRepository } from './message-search.repository.js';
import { MessageRepository } from './message.repository.js';
import { MessageService } from './message.service.js';
import { RegenerationRepository } from './regeneration.repository.js';

/** The messages API and the send transaction (a user message and its pending reply, in one go). */
@Module({
  imports: [AccessModule, CacheModule, SessionModule, EventsModule, RepliesModule],
  controllers: [MessageController],
  providers: [
    MessageService,
    MessageRepository,
    RegenerationRepository,
    MessageSearchRepository,
    { provide: SendRetryDetector, useExisting: MessageRepository },
  ],
  exports: [MessageService, MessageSearchRepository, SendRetryDetector],
})
export class MessagesModule {}
