import { replyFailure } from '../conversation/message.mapper.js';
import type { ApiErrorExample } from '../common/api-errors.decorator.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QueryInt } from '../common/query-int.decorator.js';
import { IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import type { BranchMessage, MessageEntity, MessageRole, MessageStatus } from '../conversation/message.entity.js';

export class SendMessageDto {
  @ApiProperty({ example: 'What should I see in Lisbon in two days?', minLength: 1, maxLength: 8000 })
  @IsString()
  @Length(1, 8000)
  @Matches(/\S/, { message: 'content must not be blank' })
  content: string;

  @ApiPropertyOptional({
    writeOnly: true,
    maxLength: 64,
    description:
      'A fresh id per message (e.g. crypto.randomUUID()), the same as the Idempotency-Key header: repeating ' +
      'a send with it (a retry after a lost answer) returns the original message and reply and stores nothing ' +
      'new. Never reuse it for another message: the same key with a different body is refused.',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  clientMessageId?: string;

  @ApiPropertyOptional({
    writeOnly: true,
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'Where the message goes in the conversation tree: a message of this session (editing a message = ' +
      'sending its edited text with the parent of the original), or null for a new root. Omitted: the ' +
      'message continues the branch of the newest message.',
  })
  @IsOptional()
  @IsUUID('all')
  parentId?: string | null;
}

export class ListMessagesQueryDto {
  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @QueryInt(1, 200)
  limit?: number;

  @ApiPropertyOptional({
    minimum: 1,
    description: 'Only messages with a smaller seq (older): nextBeforeSeq of the previous page',
  })
  @IsOptional()
  @QueryInt(1, 2_147_483_647)
  beforeSeq?: number;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The branch that ends at this message (default: the branch of the newest message)',
  })
  @IsOptional()
  @IsUUID('all')
  leafId?: string;
}

export class ReplyErrorDto {
  @ApiProperty({ example: 'upstream_unavailable' })
  code: string;

  @ApiProperty({ example: 'The model did not answer; please try again.' })
  message: string;
}

export class MessageResponseDto {
  @ApiProperty({ format: 'uuid', example: '9d5c2b8e-1f3a-4b7c-8e2d-6a1f0c3b5d7e' })
  id: string;

  @ApiProperty({ format: 'uuid', example: '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10' })
  sessionId: string;

  @ApiProperty({ example: 1, description: 'Contiguous from 1 within the session' })
  seq: number;

  @ApiProperty({ enum: ['user', 'assistant'], example: 'user', description: 'A reply is assistant' })
  role: MessageRole;

  @ApiProperty({ example: 'What should I see in Lisbon in two days?' })
  content: string;

  @ApiProperty({
    enum: ['pending', 'streaming', 'complete', 'failed', 'stopped', 'superseded'],
    example: 'complete',
    description: 'complete, failed, stopped and superseded are terminal: the reply never changes again',
  })
  status: MessageStatus;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'For a reply: its user message',
  })
  replyTo: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The message this one follows on its branch (for a reply: its user message); null for a root',
  })
  parentId: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  updatedAt: string;

  @ApiPropertyOptional({ type: ReplyErrorDto, description: 'Present on a failed reply' })
  error?: ReplyErrorDto;
}

export class ExchangeResponseDto {
  @ApiProperty({ type: MessageResponseDto })
  message: MessageResponseDto;

  @ApiProperty({ type: MessageResponseDto, description: 'The reply, pending until generated' })
  reply: MessageResponseDto;
}

export class HistoryMessageResponseDto extends MessageResponseDto {
  @ApiProperty({
    example: 2,
    description: 'Messages sharing this one’s parent and role (itself included): the branches here',
  })
  siblingCount: number;

  @ApiProperty({
    example: 0,
    description: 'Its position among them, from 0, oldest first (a client shows "< index+1/count >")',
  })
  siblingIndex: number;
}

export class RegenerateResponseDto {
  @ApiProperty({ type: MessageResponseDto, description: 'The new reply, pending until generated' })
  reply: MessageResponseDto;
}

export class MessageListResponseDto {
  @ApiProperty({ type: [HistoryMessageResponseDto], description: 'One branch, ascending seq' })
  items: HistoryMessageResponseDto[];

  @ApiProperty({ type: Number, nullable: true, example: null, description: 'beforeSeq for the next (older) page' })
  nextBeforeSeq: number | null;
}

export function mapMessage(message: MessageEntity): MessageResponseDto {
  return {
    id: message.id,
    sessionId: message.sessionId,
    seq: message.seq,
    role: message.role,
    content: message.content,
    status: message.status,
    replyTo: message.replyTo,
    parentId: message.parentId,
    createdAt: message.createdAt.toISOString(),
    updatedAt: message.updatedAt.toISOString(),
    ...(message.status === 'failed' ? { error: replyFailure(message) } : {}),
  };
}

export const IDEMPOTENCY_KEY_MAX_LENGTH = 64;

export function mapHistoryMessage(message: BranchMessage): HistoryMessageResponseDto {
  return { ...mapMessage(message), siblingCount: message.siblingCount, siblingIndex: message.siblingIndex };
}

/** The send's own refusals, as both send routes document them. */
export const IDEMPOTENCY_KEY_REUSED_ERROR: ApiErrorExample = {
  status: 422,
  code: 'idempotency_key_reused',
  message: 'This idempotency key was used for a different message; use a fresh key per message',
  description: 'idempotency_key_reused: the key was used before for a different message',
};

export const TOO_MANY_PENDING_REPLIES_ERROR: ApiErrorExample = {
  status: 429,
  code: 'too_many_pending_replies',
  message: 'At most 3 replies may be pending at once; wait for one to complete',
  description: 'rate_limited or too_many_pending_replies (Retry-After)',
};
