import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QueryInt } from '../common/query-int.decorator.js';
import { IsDefined, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import type { SessionEntity } from './session.entity.js';

const SESSION_ID_EXAMPLE = '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10';

export class CreateSessionDto {
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
    description: 'The new title; null clears it',
  })
  @ValidateIf((dto: UpdateSessionDto) => dto.title !== null)
  @IsDefined()
  @IsString()
  @MaxLength(200)
  title: string | null;
}

export class ListSessionsQueryDto {
  @ApiPropertyOptional({ example: 20, minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @QueryInt(1, 100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page', example: 'eyJ0IjoxNzY3MjI1NjAwMDAwfQ' })
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
  };
}
