import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ClsService } from 'nestjs-cls';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
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
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatSendResponseDto> {
    const result = await this.chatSend.sendAndWait({ ownerId: user.id, content: dto.message, sessionId: dto.sessionId });
    void reply.status(result.finished ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return {
      sessionId: result.sessionId,
      message: mapMessage(result.message),
      reply: mapMessage(result.reply),
      requestId: this.cls.getId(),
    };
  }
}
