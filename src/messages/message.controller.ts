import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { Cached } from '../cache/cached.decorator.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RequestHeader } from '../common/request-header.decorator.js';
import { isUuid, normaliseId } from '../common/uuid.util.js';
import { IdempotentSend, RateLimit } from '../throttle/rate-limit.decorator.js';
import type { OwnedResource } from '../access/access.service.js';
import { OwnedSession, SessionOwnershipGuard } from '../session/session-ownership.guard.js';
import { IdempotencyKeyPipe } from './idempotency-key.pipe.js';
import { ReplyStopService } from '../replies/reply-stop.service.js';
import { MessageService } from './message.service.js';
import {
  ExchangeResponseDto,
  ListMessagesQueryDto,
  mapHistoryMessage,
  mapMessage,
  MessageListResponseDto,
  MessageResponseDto,
  RegenerateResponseDto,
  SendMessageDto,
} from './message.dto.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiParam({ name: 'sessionId', format: 'uuid' })
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
@ApiNotFoundResponse({ type: ErrorResponseDto })
@ApiBadRequestResponse({ type: ErrorResponseDto })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
@RateLimit('reads')
@UseGuards(SessionOwnershipGuard)
@Controller('v1/sessions/:sessionId/messages')
export class MessageController {
  constructor(
    private readonly messages: MessageService,
    private readonly stops: ReplyStopService,
  ) {}

  @Post()
  @RateLimit('sends')
  @IdempotentSend()
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'idempotency_key_reused: the key was used before for a different message',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same as clientMessageId' })
  @ApiAcceptedResponse({ type: ExchangeResponseDto, description: 'Stored; the reply is pending' })
  @ApiOkResponse({ type: ExchangeResponseDto, description: 'A repeat of an earlier send (same idempotency key)' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited or too_many_pending_replies' })
  async send(
    @CurrentUser() user: AuthenticatedUser,
    @OwnedSession() session: OwnedResource,
    @Body() dto: SendMessageDto,
    @RequestHeader('idempotency-key', IdempotencyKeyPipe) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ExchangeResponseDto> {
    const result = await this.messages.send({
      sessionId: session.id,
      ownerId: user.id,
      content: dto.content,
      clientMessageId: dto.clientMessageId,
      idempotencyKey,
      parentId: dto.parentId === undefined || dto.parentId === null ? dto.parentId : normaliseId(dto.parentId),
    });
    void reply.status(result.created ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return { message: mapMessage(result.message), reply: mapMessage(result.reply) };
  }

  @Get()
  @Cached({ kind: 'history', query: ['limit', 'beforeSeq', 'leafId'], etag: true })
  @ApiOkResponse({ type: MessageListResponseDto, headers: { ETag: { description: 'Send back in If-None-Match' } } })
  async history(
    @OwnedSession() session: OwnedResource,
    @Query() query: ListMessagesQueryDto,
  ): Promise<MessageListResponseDto> {
    const leafId = query.leafId === undefined ? undefined : normaliseId(query.leafId);
    const page = await this.messages.history(session.id, query.limit, query.beforeSeq, leafId);
    return { items: page.items.map(mapHistoryMessage), nextBeforeSeq: page.nextBeforeSeq };
  }

  @Post(':messageId/stop')
  @RateLimit('sends')
  @HttpCode(HttpStatus.OK)
  @ApiParam({ name: 'messageId', format: 'uuid', description: 'The reply to stop' })
  @ApiOperation({
    summary: 'Stop a reply',
    description:
      'Works on any replica, whichever worker generates the reply, and before its first token. The reply becomes ' +
      '`stopped` with exactly the text streamed before the stop; `reply.stopped` is its last event.',
  })
  @ApiOkResponse({ type: MessageResponseDto, description: 'The stopped reply' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'reply_finished: the reply was already complete, failed, stopped or superseded' })
  async stop(@OwnedSession() session: OwnedResource, @Param('messageId') messageId: string): Promise<MessageResponseDto> {
    const requestedAt = Date.now();
    if (!isUuid(messageId)) {
      throw new CommonException(CommonExceptionCode.InvalidId, 'messageId must be a UUID');
    }
    return mapMessage(await this.stops.stop(session.id, messageId, requestedAt));
  }

  @Post(':messageId/regenerate')
  @RateLimit('sends')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiParam({ name: 'messageId', format: 'uuid', description: 'A finished reply' })
  @ApiOperation({
    summary: 'Regenerate a reply',
    description:
      'Stores a new pending reply beside a finished one: a sibling with the same parentId and replyTo, answered ' +
      'from the conversation up to that user message. Counted as a send (rate limit, pending replies).',
  })
  @ApiAcceptedResponse({ type: RegenerateResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'reply_not_finished: stop the reply first' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited or too_many_pending_replies' })
  async regenerate(
    @CurrentUser() user: AuthenticatedUser,
    @OwnedSession() session: OwnedResource,
    @Param('messageId') messageId: string,
  ): Promise<RegenerateResponseDto> {
    if (!isUuid(messageId)) {
      throw new CommonException(CommonExceptionCode.InvalidId, 'messageId must be a UUID');
    }
    return { reply: mapMessage(await this.messages.regenerate(session.id, user.id, messageId)) };
  }

  @Get(':messageId')
  @ApiParam({ name: 'messageId', format: 'uuid' })
  @ApiOkResponse({ type: MessageResponseDto })
  async findOne(
    @OwnedSession() session: OwnedResource,
    @Param('messageId') messageId: string,
  ): Promise<MessageResponseDto> {
    if (!isUuid(messageId)) {
      throw new CommonException(CommonExceptionCode.InvalidId, 'messageId must be a UUID');
    }
    return mapMessage(await this.messages.findMessage(session.id, messageId));
  }
}
