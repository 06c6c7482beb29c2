import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { SessionModule } from '../session/session.module.js';
import { SessionEventBus } from './session-event-bus.service.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';

/** A session's event stream: publishing, subscribing, and its server-sent events route. */
@Module({
  imports: [AccessModule, SessionModule],
  controllers: [SessionEventsController],
  providers: [SessionEventBus, SessionEventsService],
  exports: [SessionEventBus],
})
export class EventsModule {}
