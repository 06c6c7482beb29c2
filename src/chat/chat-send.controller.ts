import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ClsService } from 'nestjs-cls';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ApiErrors } from '../common/api-errors.decorator.js';
import {
  COMPLETE_REPLY_EXAMPLE,
  PENDING_REPLY_EXAMPLE,
  USER_MESSAGE_EXAMPLE,
} from '../messages/message-examples.constant.js';
import { RequestHeader } from '../common/request-header.decorator.js';
import { IdempotencyKeyPipe } from '../messages/idempotency-key.pipe.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { IdempotentSend, RateLimit } from '../throttle/rate-limit.decorator.js';
import { ChatSendDto, ChatSendResponseDto } from './chat-send.dto.js';
import { ChatSendService } from './chat-send.service.js';
import { IDEMPOTENCY_KEY_REUSED_ERROR, mapMessage, TOO_MANY_PENDING_REPLIES_ERROR } from '../messages/message.dto.js';

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
  @ApiOperation({
    summary: 'Send a message and wait up to REPLY_WAIT_MS for the reply (creates a session when none is given)',
    description:
      'The one-call way to chat: takes { message } (the messages route takes { content }), stores it and ' +
      'answers 200 with the finished reply, or 202 with the pending one when it takes longer than REPLY_WAIT_MS. ' +
      'Without sessionId a new session is created; its id is in the answer.',
  })
  @ApiBody({
    type: ChatSendDto,
    examples: { message: { summary: 'A new conversation', value: { message: 'Hello, Parley' } } },
  })
  @ApiOkResponse({
    type: ChatSendResponseDto,
    description: 'The reply finished (complete, or failed with its error)',
    example: {
      sessionId: USER_MESSAGE_EXAMPLE.sessionId,
      message: USER_MESSAGE_EXAMPLE,
      reply: COMPLETE_REPLY_EXAMPLE,
      requestId: 'b1946ac9-2a5e-4c7b-8f3d-0c1e2a3b4c5d',
    },
  })
  @ApiAcceptedResponse({
    type: ChatSendResponseDto,
    description: 'Stored; the reply is still pending after REPLY_WAIT_MS',
    example: {
      sessionId: USER_MESSAGE_EXAMPLE.sessionId,
      message: USER_MESSAGE_EXAMPLE,
      reply: PENDING_REPLY_EXAMPLE,
      requestId: 'b1946ac9-2a5e-4c7b-8f3d-0c1e2a3b4c5d',
    },
  })
  @ApiErrors(
    400,
    401,
    403,
    404,
    {
      status: 409,
      code: 'too_many_sessions',
      message: 'At most 10000 sessions per user; delete some first',
      description: 'too_many_sessions: MAX_SESSIONS_PER_USER reached (no sessionId given)',
    },
    IDEMPOTENCY_KEY_REUSED_ERROR,
    TOO_MANY_PENDING_REPLIES_ERROR,
    503,
  )
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
