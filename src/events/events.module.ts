import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { SessionModule } from '../session/session.module.js';
import { SessionEventBus } from './session-event-bus.service.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';
import { StreamTicketController } from './stream-ticket.controller.js';

/** A session's event stream: publishing, subscribing, its server-sent events route and stream tickets. */
@Module({
  imports: [AccessModule, AuthModule, SessionModule],
  controllers: [SessionEventsController, StreamTicketController],
  providers: [SessionEventBus, SessionEventsService],
  exports: [SessionEventBus],
})
export class EventsModule {}
