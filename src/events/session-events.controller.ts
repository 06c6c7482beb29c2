import { Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ErrorResponseDto } from '../common/error-response.dto.js';
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
  @ApiOperation({
    summary: 'Server-sent events of the session',
    description:
      'Events: message.created {message, reply}; reply.delta {messageId, delta, attempt} (a new attempt restarts the ' +
      'reply text); reply.completed {message}; reply.failed {messageId, code, reason}. Every event has an id: ' +
      'reconnect with Last-Event-ID (or ?lastEventId=) to resume after it, on any replica. When events after that ' +
      'id are no longer kept (EVENT_STREAM_MAX_LENGTH, EVENT_STREAM_TTL_MS), the resume starts with ' +
      'events.missed {lastEventId}: reload the history, then follow the stream. A comment heartbeat is ' +
      'sent every SSE_HEARTBEAT_MS (15 s by default).',
  })
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An open text/event-stream',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: SSE_EXAMPLE } },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Malformed session id or Last-Event-ID' })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
  async events(
    @OwnedSession() session: OwnedResource,
    @RequestHeader('last-event-id', LastEventIdPipe) header: string | undefined,
    @Query() query: SessionEventsQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const lastEventId = header ?? query.lastEventId;
    await this.sessionEvents.stream(session.id, lastEventId, reply);
  }
}
