import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { UserPreferences } from './me.entity.js';

export const INSTRUCTIONS_MAX_LENGTH = 2000;

/** PostgreSQL text cannot hold NUL: refused here as bad input rather than failing in the database. */
const NO_NUL = /^[^\u0000]*$/;

export class UpdateMeDto {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: INSTRUCTIONS_MAX_LENGTH,
    example: 'Answer briefly, in British English. I am a nurse.',
    description: 'Custom instructions for every reply to you; null (or blank) clears them',
  })
  @IsOptional()
  @IsString()
  @MaxLength(INSTRUCTIONS_MAX_LENGTH)
  @Matches(NO_NUL, { message: 'instructions must not contain NUL characters' })
  instructions?: string | null;

  @ApiPropertyOptional({ example: false, description: 'false: no memories are drawn from your conversations' })
  @ValidateIf((dto: UpdateMeDto) => dto.memoryExtraction !== undefined)
  @IsBoolean()
  memoryExtraction?: boolean;
}

export class MeResponseDto {
  @ApiProperty({ example: 'alice', description: "The caller's user id (the token's sub)" })
  id: string;

  @ApiProperty({ type: String, nullable: true, example: 'Answer briefly, in British English.' })
  instructions: string | null;

  @ApiProperty({ example: true })
  memoryExtraction: boolean;
}

export function mapMe(preferences: UserPreferences): MeResponseDto {
  return {
    id: preferences.ownerId,
    instructions: preferences.instructions,
    memoryExtraction: preferences.memoryExtraction,
  };
}
