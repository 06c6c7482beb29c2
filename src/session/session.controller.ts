import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { Cached } from '../cache/cached.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import {
  CreateSessionDto,
  ListSessionsQueryDto,
  mapSession,
  SessionListResponseDto,
  SessionResponseDto,
  UpdateSessionDto,
} from './session.dto.js';
import type { OwnedResource } from '../access/access.service.js';
import { OwnedSession, SessionOwnershipGuard } from './session-ownership.guard.js';
import { SessionService } from './session.service.js';

@ApiTags('sessions')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiBadRequestResponse({ type: ErrorResponseDto })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
@RateLimit('reads')
@Controller('v1/sessions')
export class SessionController {
  constructor(private readonly sessions: SessionService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a session',
    description:
      'A new, empty conversation owned by the caller (at most MAX_SESSIONS_PER_USER). Its id is made by the server.',
  })
  @RateLimit('sends')
  @ApiCreatedResponse({ type: SessionResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'too_many_sessions: MAX_SESSIONS_PER_USER reached' })
  async create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateSessionDto): Promise<SessionResponseDto> {
    return mapSession(await this.sessions.create(user.id, dto.title, dto.replyMode));
  }

  @Get()
  @ApiOperation({
    summary: "The caller's sessions, most recent activity first",
    description:
      'Own sessions only, limit per page (default 20); pass nextCursor as cursor for the next page (null on the last).',
  })
  @Cached({ kind: 'sessions', query: ['limit', 'cursor'] })
  @ApiOkResponse({
    type: SessionListResponseDto,
    description: "The caller's sessions, most recent activity (updatedAt) first",
  })
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListSessionsQueryDto,
  ): Promise<SessionListResponseDto> {
    const page = await this.sessions.list(user.id, query.limit, query.cursor);
    return { items: page.items.map(mapSession), nextCursor: page.nextCursor };
  }

  @Get(':sessionId')
  @ApiOperation({
    summary: 'One session',
    description: "403 session_forbidden for another user's session, 404 for one that does not exist.",
  })
  @UseGuards(SessionOwnershipGuard)
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @Cached({ kind: 'session' })
  async get(@OwnedSession() session: OwnedResource): Promise<SessionResponseDto> {
    return mapSession(await this.sessions.get(session));
  }

  @Patch(':sessionId')
  @ApiOperation({
    summary: 'Rename a session',
    description: 'Changes the title (at most 200 characters) of one of your sessions.',
  })
  @RateLimit('sends')
  @UseGuards(SessionOwnershipGuard)
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async rename(@OwnedSession() session: OwnedResource, @Body() dto: UpdateSessionDto): Promise<SessionResponseDto> {
    return mapSession(await this.sessions.update(session, { title: dto.title, replyMode: dto.replyMode }));
  }

  @Delete(':sessionId')
  @ApiOperation({
    summary: 'Delete a session',
    description: 'The session and all its messages; afterwards it is 404 for everyone.',
  })
  @RateLimit('sends')
  @UseGuards(SessionOwnershipGuard)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiParam({ name: 'sessionId', format: 'uuid' })
  @ApiNoContentResponse()
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async remove(@OwnedSession() session: OwnedResource): Promise<void> {
    await this.sessions.remove(session);
  }
}
