import { Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { AcceptsStreamTicket } from '../auth/stream-ticket.decorator.js';
import { ApiErrors } from '../common/api-errors.decorator.js';
import { RequestHeader } from '../common/request-header.decorator.js';
import type { OwnedResource } from '../access/access.service.js';
import { OwnedSession, SessionOwnershipGuard } from '../session/session-ownership.guard.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { LastEventIdPipe } from './last-event-id.pipe.js';
import { SessionEventsQueryDto } from './session-events.dto.js';
import { SessionEventsService } from './session-events.service.js';

const SSE_EXAMPLE = [
  'id: 1767225600000-0',
  'event: message.created',
  'data: {"message":{"id":"…","seq":1,"role":"user","status":"complete"},"reply":{"id":"…","seq":2,"status":"pending"}}',
  '',
  'id: 1767225600012-0',
  'event: reply.delta',
  'data: {"messageId":"…","delta":"Lisbon ","attempt":1}',
  '',
  'id: 1767225600480-0',
  'event: reply.completed',
  'data: {"message":{"id":"…","seq":2,"role":"assistant","status":"complete","content":"Lisbon …"}}',
  '',
  ': heartbeat',
  '',
].join('\n');

@ApiTags('messages')
@ApiBearerAuth()
@RateLimit('reads')
@UseGuards(SessionOwnershipGuard)
@Controller('v1/sessions/:sessionId/events')
export class SessionEventsController {
  constructor(private readonly sessionEvents: SessionEventsService) {}

  @Get()
  @AcceptsStreamTicket()
  @ApiOperation({
    summary: 'Follow the session: server-sent events (a stream; open it with EventSource or curl, not here)',
    description:
      'A text/event-stream that stays open: Swagger UI cannot show it and waits forever. Open it with ' +
      '`curl -N -H "Authorization: Bearer $TOKEN" .../events`, or in a browser with ' +
      '`new EventSource(".../events?ticket=" + ticket)` after POST .../events/tickets (EventSource cannot send ' +
      'an Authorization header). Events: message.created {message, reply}; reply.delta {messageId, delta, attempt} ' +
      '(a new attempt restarts the reply text); reply.completed {message}; reply.failed {messageId, code, reason}; ' +
      'reply.stopped {message}; reply.superseded {messageId}. Every event has an id: reconnect with Last-Event-ID ' +
      '(EventSource does it by itself) or ?lastEventId= to resume after it, on any replica. When events after ' +
      'that id are no longer kept (EVENT_STREAM_MAX_LENGTH, EVENT_STREAM_TTL_MS), the resume starts with ' +
      'events.missed {lastEventId}: reload the history, then follow the stream. A comment heartbeat is sent ' +
      'every SSE_HEARTBEAT_MS (15 s by default). session.deleted {sessionId} ends the stream when the session is ' +
      'deleted; the stream also ends when the token or stream ticket it was opened with expires. At most SSE_MAX_STREAMS_PER_USER ' +
      'streams of a user are open at once, over all replicas (429 too_many_streams). Errors before the stream opens are JSON.',
  })
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiOkResponse({
    description: 'An open text/event-stream',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: SSE_EXAMPLE } },
  })
  @ApiErrors(
    {
      status: 400,
      code: 'validation_failed',
      message: 'Last-Event-ID must be an event id such as 1767225600000-0',
      description: 'Malformed session id or Last-Event-ID',
    },
    {
      status: 401,
      code: 'invalid_ticket',
      message: 'The stream ticket is not valid or has expired; ask for a new one',
      description: 'No valid bearer token or stream ticket (missing_token, invalid_token, invalid_ticket)',
    },
    {
      status: 403,
      code: 'ticket_forbidden',
      message: 'The stream ticket was issued for another session or user',
      description: "Another user's session (session_forbidden), or a ticket for another session (ticket_forbidden)",
    },
    404,
    {
      status: 429,
      code: 'too_many_streams',
      message: 'At most 10 event streams may be open at once per user; close one first',
      description:
        'rate_limited, or too_many_streams: SSE_MAX_STREAMS_PER_USER streams of the caller are open (all replicas)',
    },
    503,
  )
  async events(
    @CurrentUser() user: AuthenticatedUser,
    @OwnedSession() session: OwnedResource,
    @RequestHeader('last-event-id', LastEventIdPipe) header: string | undefined,
    @Query() query: SessionEventsQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.sessionEvents.stream(session.id, user, header ?? query.lastEventId, reply);
  }
}
