import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { EventsModule } from '../events/events.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { RepliesModule } from '../replies/replies.module.js';
import { ChatSendController } from './chat-send.controller.js';
import { ChatSendService } from './chat-send.service.js';

/** POST /v1/chat/send: a send (messages) and a wait for its reply (replies, events) in one call. */
@Module({
  imports: [AccessModule, MessagesModule, RepliesModule, EventsModule],
  controllers: [ChatSendController],
  providers: [ChatSendService],
})
export class ChatModule {}
