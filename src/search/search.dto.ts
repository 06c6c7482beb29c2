import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import type { MessageRole } from '../conversation/message.entity.js';
import type { MessageHit } from '../messages/message-search.repository.js';

export const SEARCH_QUERY_MAX_LENGTH = 500;
export const SEARCH_PAGE_SIZE_DEFAULT = 20;
export const SEARCH_PAGE_SIZE_MAX = 100;

/** PostgreSQL text cannot hold NUL: refused here as bad input rather than failing in the database. */
const NO_NUL = /^[^\u0000]*$/;

export class SearchQueryDto {
  @ApiProperty({
    example: 'lisbon restaurants',
    minLength: 1,
    maxLength: SEARCH_QUERY_MAX_LENGTH,
    description:
      'Full-text search over your messages in all your sessions (English stemming; web-search syntax: ' +
      '"quoted phrase", or, -excluded), as for memories',
  })
  @IsString()
  @Length(1, SEARCH_QUERY_MAX_LENGTH)
  @Matches(/\S/, { message: 'q must not be blank' })
  @Matches(NO_NUL, { message: 'q must not contain NUL characters' })
  q: string;

  @ApiPropertyOptional({
    example: SEARCH_PAGE_SIZE_DEFAULT,
    minimum: 1,
    maximum: SEARCH_PAGE_SIZE_MAX,
    default: SEARCH_PAGE_SIZE_DEFAULT,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(SEARCH_PAGE_SIZE_MAX)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (with the same q)' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;
}

export class SearchHitDto {
  @ApiProperty({ format: 'uuid', example: '0b7c2f5e-5f1a-4a8e-9d1c-2a4f6e8b1c3d' })
  sessionId: string;

  @ApiProperty({ format: 'uuid', example: '5d1e9a7c-2b3f-4c6d-8e0a-1f2b3c4d5e6f' })
  messageId: string;

  @ApiProperty({ example: 3 })
  seq: number;

  @ApiProperty({ enum: ['user', 'assistant'], example: 'user' })
  role: MessageRole;

  @ApiProperty({
    example: 'we could try the **restaurants** near the river in **Lisbon**',
    description: 'Where the message matches, with the matching words between ** and **',
  })
  snippet: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  createdAt: string;
}

export class SearchResponseDto {
  @ApiProperty({ type: [SearchHitDto], description: 'Most relevant first' })
  items: SearchHitDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'The next page, or null after the last',
  })
  nextCursor: string | null;
}

export function mapHit(hit: MessageHit): SearchHitDto {
  return {
    sessionId: hit.sessionId,
    messageId: hit.id,
    seq: hit.seq,
    role: hit.role,
    snippet: hit.snippet,
    createdAt: hit.createdAt.toISOString(),
  };
}
