import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { ReplyEventsService } from './reply-events.service.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';

/** A session's event stream: publishing, subscribing, and its server-sent events route. */
@Module({
  imports: [SessionModule],
  controllers: [SessionEventsController],
  providers: [ReplyEventsService, SessionEventsService],
  exports: [ReplyEventsService],
})
export class EventsModule {}
