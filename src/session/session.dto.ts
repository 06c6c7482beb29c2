import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QueryInt } from '../common/query-int.decorator.js';
import { IsDefined, IsIn, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { REPLY_MODES, type ReplyMode, type SessionEntity } from './session.entity.js';

const SESSION_ID_EXAMPLE = '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10';

const REPLY_MODE_PROPERTY = {
  enum: REPLY_MODES,
  example: 'each',
  description:
    'each: every message gets its reply. coalesce: a message sent while the previous reply has not started yet ' +
    'supersedes it, and one reply answers the whole burst (after COALESCE_WINDOW_MS of quiet).',
};

export class CreateSessionDto {
  @ApiPropertyOptional({ ...REPLY_MODE_PROPERTY, default: 'each' })
  @IsOptional()
  @IsIn(REPLY_MODES)
  replyMode?: ReplyMode;

  @ApiPropertyOptional({ example: 'Trip to Lisbon', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  title?: string;
}

export class UpdateSessionDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'Trip to Lisbon (revised)',
    maxLength: 200,
    description: 'The new title; null clears it (required unless replyMode is given)',
  })
  @ValidateIf(
    (dto: UpdateSessionDto) => dto.title !== null && !(dto.title === undefined && dto.replyMode !== undefined),
  )
  @IsDefined()
  @IsString()
  @MaxLength(200)
  title?: string | null;

  @ApiPropertyOptional(REPLY_MODE_PROPERTY)
  @IsOptional()
  @IsIn(REPLY_MODES)
  replyMode?: ReplyMode;
}

export class ListSessionsQueryDto {
  @ApiPropertyOptional({ example: 20, minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @QueryInt(1, 100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (omit it for the first page)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class SessionResponseDto {
  @ApiProperty({ format: 'uuid', example: SESSION_ID_EXAMPLE })
  id: string;

  @ApiProperty({ type: String, nullable: true, example: 'Trip to Lisbon' })
  title: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:05:00.000Z' })
  updatedAt: string;

  @ApiProperty({ example: 4, description: 'Messages and replies in the session' })
  messageCount: number;

  @ApiProperty({ enum: REPLY_MODES, example: 'each' })
  replyMode: ReplyMode;
}

export class SessionListResponseDto {
  @ApiProperty({ type: [SessionResponseDto] })
  items: SessionResponseDto[];

  @ApiProperty({ type: String, nullable: true, example: null })
  nextCursor: string | null;
}

export function mapSession(session: SessionEntity): SessionResponseDto {
  return {
    id: session.id,
    title: session.title,
    createdAt: session.createdAt.toISOString(),
    updatedAt: session.updatedAt.toISOString(),
    messageCount: session.messageCount,
    replyMode: session.replyMode,
  };
}
