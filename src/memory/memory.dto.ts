import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QueryInt } from '../common/query-int.decorator.js';
import { IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import type { MemoryEntity, MemorySource } from './memory.entity.js';

export const MEMORY_CONTENT_MAX_LENGTH = 2000;
export const MEMORY_PAGE_SIZE_DEFAULT = 20;
export const MEMORY_PAGE_SIZE_MAX = 100;
export const MEMORY_QUERY_MAX_LENGTH = 500;

/** PostgreSQL text cannot hold NUL: refused here as bad input rather than failing in the database. */
const NO_NUL = /^[^\u0000]*$/;

export class CreateMemoryDto {
  @ApiProperty({
    example: 'I am vegetarian and allergic to peanuts.',
    minLength: 1,
    maxLength: MEMORY_CONTENT_MAX_LENGTH,
  })
  @IsString()
  @Length(1, MEMORY_CONTENT_MAX_LENGTH)
  @Matches(/\S/, { message: 'content must not be blank' })
  @Matches(NO_NUL, { message: 'content must not contain NUL characters' })
  content: string;
}

export class ListMemoriesQueryDto {
  @ApiPropertyOptional({
    example: 'peanut allergy',
    maxLength: MEMORY_QUERY_MAX_LENGTH,
    description:
      'Full-text search (English stemming; web-search syntax: "quoted phrase", or, -excluded). ' +
      'Results are ranked by relevance. Empty or absent: the most recent memories.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MEMORY_QUERY_MAX_LENGTH)
  @Matches(NO_NUL, { message: 'q must not contain NUL characters' })
  q?: string;

  @ApiPropertyOptional({
    example: MEMORY_PAGE_SIZE_DEFAULT,
    minimum: 1,
    maximum: MEMORY_PAGE_SIZE_MAX,
    default: MEMORY_PAGE_SIZE_DEFAULT,
  })
  @IsOptional()
  @QueryInt(1, MEMORY_PAGE_SIZE_MAX)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (with the same q)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class MemoryResponseDto {
  @ApiProperty({ format: 'uuid', example: '6b1e2f0a-4c3d-4e8f-9a1b-2c3d4e5f6a7b' })
  id: string;

  @ApiProperty({ example: 'I am vegetarian and allergic to peanuts.' })
  content: string;

  @ApiProperty({
    enum: ['user', 'extracted'],
    example: 'user',
    description: '`user`: saved through this API; `extracted`: drawn from the conversations',
  })
  source: MemorySource;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The session an extracted memory came from',
  })
  sessionId: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: null,
    description: 'The user message it came from',
  })
  messageId: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  createdAt: string;
}

export class MemoryListResponseDto {
  @ApiProperty({
    type: [MemoryResponseDto],
    description: 'Most relevant first with q, otherwise newest first',
  })
  items: MemoryResponseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'cursor of the next page; null on the last',
  })
  nextCursor: string | null;
}

export function mapMemory(memory: MemoryEntity): MemoryResponseDto {
  return {
    id: memory.id,
    content: memory.content,
    source: memory.source,
    sessionId: memory.sessionId,
    messageId: memory.messageId,
    createdAt: memory.createdAt.toISOString(),
  };
}
