import { Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { StreamTicketService } from '../auth/stream-ticket.service.js';
import { ApiErrors } from '../common/api-errors.decorator.js';
import type { SessionEntity } from '../session/session.entity.js';
import { OwnedSession, SessionOwnershipGuard } from '../session/session-ownership.guard.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { StreamTicketResponseDto } from './stream-ticket.dto.js';

@ApiTags('messages')
@ApiBearerAuth()
@RateLimit('reads')
@UseGuards(SessionOwnershipGuard)
@Controller('v1/sessions/:sessionId/events/tickets')
export class StreamTicketController {
  constructor(private readonly tickets: StreamTicketService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary: 'Get a stream ticket for the browser EventSource',
    description:
      "A browser's native EventSource cannot send an Authorization header: open " +
      '`GET /v1/sessions/{sessionId}/events?ticket=<ticket>` with this ticket instead. It stands for the caller and ' +
      'this session only, read-only, on every replica, and stays valid for the automatic reconnects until ' +
      'expiresAt (SSE_TICKET_TTL_MS); then ask for a new one and resume with ?lastEventId=. It is never logged.',
  })
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiCreatedResponse({ type: StreamTicketResponseDto })
  @ApiErrors(400, 401, 403, 404, 429, 503)
  async create(
    @CurrentUser() user: AuthenticatedUser,
    @OwnedSession() session: SessionEntity,
  ): Promise<StreamTicketResponseDto> {
    const issued = await this.tickets.issue(user.id, session.id);
    return { ticket: issued.ticket, expiresAt: issued.expiresAt.toISOString() };
  }
}
