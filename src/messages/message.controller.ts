import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { Cached } from '../cache/cached.decorator.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { ApiErrors } from '../common/api-errors.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RequestHeader } from '../common/request-header.decorator.js';
import { isUuid, normaliseId } from '../common/uuid.util.js';
import { IdempotentSend, RateLimit } from '../throttle/rate-limit.decorator.js';
import type { OwnedResource } from '../access/access.service.js';
import { OwnedSession, SessionOwnershipGuard } from '../session/session-ownership.guard.js';
import {
  COMPLETE_REPLY_EXAMPLE,
  FAILED_REPLY_EXAMPLE,
  PENDING_REPLY_EXAMPLE,
  SEND_BODY_EXAMPLE,
  USER_MESSAGE_EXAMPLE,
} from './message-examples.constant.js';
import { IdempotencyKeyPipe } from './idempotency-key.pipe.js';
import { ReplyStopService } from '../replies/reply-stop.service.js';
import { MessageService } from './message.service.js';
import {
  ExchangeResponseDto,
  IDEMPOTENCY_KEY_REUSED_ERROR,
  ListMessagesQueryDto,
  mapHistoryMessage,
  mapMessage,
  MessageListResponseDto,
  MessageResponseDto,
  RegenerateResponseDto,
  SendMessageDto,
  TOO_MANY_PENDING_REPLIES_ERROR,
} from './message.dto.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiParam({ name: 'sessionId', format: 'uuid' })
@ApiErrors(400, 401, 403, 404, 429, 503)
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
  @ApiOperation({
    summary: 'Send a message; its reply is generated in the background',
    description:
      'Stores the message and a pending reply in one transaction and answers 202 at once; follow the reply on ' +
      'GET .../events or poll GET .../messages/{replyId}. Give each message a fresh Idempotency-Key (or ' +
      'clientMessageId): a retry with the same key and body answers 200 with the original and stores nothing; ' +
      'the same key with another body is 422 idempotency_key_reused.',
  })
  @ApiBody({ type: SendMessageDto, examples: { message: { summary: 'A new message', value: SEND_BODY_EXAMPLE } } })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A fresh id per message (same as clientMessageId)',
  })
  @ApiAcceptedResponse({
    type: ExchangeResponseDto,
    description: 'Stored; the reply is pending',
    example: { message: USER_MESSAGE_EXAMPLE, reply: PENDING_REPLY_EXAMPLE },
  })
  @ApiOkResponse({
    type: ExchangeResponseDto,
    description: 'A repeat of an earlier send (same idempotency key and body): the original, as it is now',
    example: { message: USER_MESSAGE_EXAMPLE, reply: COMPLETE_REPLY_EXAMPLE },
  })
  @ApiErrors(IDEMPOTENCY_KEY_REUSED_ERROR, TOO_MANY_PENDING_REPLIES_ERROR)
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
  @ApiOperation({
    summary: 'History of the session, one page, ascending seq',
    description:
      'The newest page first: pass nextBeforeSeq as beforeSeq for the older one (null on the oldest). With ' +
      'leafId, the branch that ends there. Answers carry an ETag; If-None-Match with it answers 304.',
  })
  @ApiOkResponse({
    type: MessageListResponseDto,
    headers: { ETag: { description: 'Send back in If-None-Match' } },
    example: {
      items: [
        { ...USER_MESSAGE_EXAMPLE, siblingCount: 1, siblingIndex: 0 },
        { ...COMPLETE_REPLY_EXAMPLE, siblingCount: 1, siblingIndex: 0 },
      ],
      nextBeforeSeq: null,
    },
  })
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
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'reply_finished: the reply was already complete, failed, stopped or superseded',
  })
  async stop(
    @OwnedSession() session: OwnedResource,
    @Param('messageId') messageId: string,
  ): Promise<MessageResponseDto> {
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
  @ApiOperation({
    summary: 'One message (poll a reply until it is terminal)',
    description: 'A reply is pending, streaming, then complete, failed (with error), stopped or superseded.',
  })
  @ApiOkResponse({
    type: MessageResponseDto,
    examples: {
      complete: { summary: 'A complete reply', value: COMPLETE_REPLY_EXAMPLE },
      failed: { summary: 'A failed reply', value: FAILED_REPLY_EXAMPLE },
    },
  })
  @ApiErrors({
    status: 404,
    code: 'message_not_found',
    message: 'Message not found',
    description: 'No such session or message',
  })
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
