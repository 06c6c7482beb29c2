import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SessionModule } from '../session/session.module.js';
import { ReplyEventsService } from './reply-events.service.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';
import { StreamTicketController } from './stream-ticket.controller.js';

/** A session's event stream: publishing, subscribing, its server-sent events route and stream tickets. */
@Module({
  imports: [AuthModule, SessionModule],
  controllers: [SessionEventsController, StreamTicketController],
  providers: [ReplyEventsService, SessionEventsService],
  exports: [ReplyEventsService],
})
export class EventsModule {}
