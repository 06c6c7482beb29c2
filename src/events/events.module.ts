import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuthModule } from '../auth/auth.module.js';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { RedisService } from '../redis/redis.service.js';
import { SessionDeletedListeners } from '../session/session-deleted-listeners.service.js';
import { SessionModule } from '../session/session.module.js';
import { SessionEventBus } from './session-event-bus.service.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';
import { InProcessStreamSlots, RedisStreamSlots, StreamSlots } from './stream-slots.js';
import { StreamTicketController } from './stream-ticket.controller.js';

/** A session's event stream: publishing, subscribing, its server-sent events route and stream tickets. */
@Module({
  imports: [AccessModule, AuthModule, SessionModule],
  controllers: [SessionEventsController, StreamTicketController],
  providers: [
    SessionEventBus,
    SessionEventsService,
    {
      // Open streams per user are counted where every replica sees them: Redis, or this process alone.
      provide: StreamSlots,
      inject: [RedisService, PINO_LOGGER],
      useFactory: (redis: RedisService, logger: Logger): StreamSlots =>
        redis.enabled ? new RedisStreamSlots(redis, logger) : new InProcessStreamSlots(),
    },
  ],
  exports: [SessionEventBus],
})
export class EventsModule {
  /** A deleted session's open streams end, on every replica. */
  constructor(deletedListeners: SessionDeletedListeners, bus: SessionEventBus) {
    deletedListeners.add(bus);
  }
}
