import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { IsSubject, SUBJECT_MAX_LENGTH } from './subject.util.js';

export class CreateDevTokenDto {
  @ApiProperty({
    example: 'alice',
    minLength: 1,
    maxLength: SUBJECT_MAX_LENGTH,
    description: 'Becomes the token subject (`sub`): 1 to 128 UTF-16 code units, no NUL',
  })
  @IsString()
  @IsSubject()
  userId: string;

  @ApiPropertyOptional({
    writeOnly: true,
    type: [String],
    enum: ['admin'],
    description: 'Only to try the admin routes: ["admin"]. Omit it for a plain user.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(4)
  @IsIn(['admin'], { each: true })
  roles?: string[];

  @ApiPropertyOptional({
    example: 3600,
    minimum: 60,
    maximum: 604800,
    default: 3600,
    description: 'At most JWT_MAX_TTL_SECONDS (86400 by default): a longer token would be refused',
  })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(604_800)
  ttlSeconds?: number;
}

export class DevTokenResponseDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.signature' })
  token: string;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z', format: 'date-time' })
  expiresAt: string;
}
