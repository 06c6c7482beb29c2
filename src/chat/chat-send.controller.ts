import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
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
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ClsService } from 'nestjs-cls';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RequestHeader } from '../common/request-header.decorator.js';
import { IdempotencyKeyPipe } from '../messages/idempotency-key.pipe.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { IdempotentSend, RateLimit } from '../throttle/rate-limit.decorator.js';
import { ChatSendDto, ChatSendResponseDto } from './chat-send.dto.js';
import { ChatSendService } from './chat-send.service.js';
import { mapMessage } from '../messages/message.dto.js';

@ApiTags('chat')
@ApiBearerAuth()
@Controller('v1/chat')
export class ChatSendController {
  constructor(
    private readonly chatSend: ChatSendService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  @Post('send')
  @RateLimit('sends')
  @IdempotentSend()
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A fresh id per message: a repeat with the same key and message answers the original send; with another message, 422',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'idempotency_key_reused: the key was used before for a different message',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'too_many_sessions: MAX_SESSIONS_PER_USER reached (no sessionId given)' })
  @ApiOperation({ summary: 'Send a message and wait up to REPLY_WAIT_MS for the reply (creates a session when none is given)' })
  @ApiOkResponse({ type: ChatSendResponseDto, description: 'The reply finished (complete, or failed with its error)' })
  @ApiAcceptedResponse({ type: ChatSendResponseDto, description: 'Stored; the reply is still pending after REPLY_WAIT_MS' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'session_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited or too_many_pending_replies' })
  async send(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: ChatSendDto,
    @RequestHeader('idempotency-key', IdempotencyKeyPipe) idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatSendResponseDto> {
    const result = await this.chatSend.sendAndWait({
      ownerId: user.id,
      content: dto.message,
      sessionId: dto.sessionId,
      idempotencyKey,
    });
    void reply.status(result.finished ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return {
      sessionId: result.sessionId,
      message: mapMessage(result.message),
      reply: mapMessage(result.reply),
      requestId: this.cls.getId(),
    };
  }
}
