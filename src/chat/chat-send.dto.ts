import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { normaliseId } from '../common/uuid.util.js';
import { MessageResponseDto } from '../messages/message.dto.js';

export class ChatSendDto {
  @ApiProperty({ example: 'What should I see in Lisbon in two days?', minLength: 1, maxLength: 8000 })
  @IsString()
  @Length(1, 8000)
  @Matches(/\S/, { message: 'message must not be blank' })
  message: string;

  @ApiPropertyOptional({
    writeOnly: true,
    format: 'uuid',
    description: 'One of your sessions; omitted: a new session is created',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => normaliseId(value))
  @IsUUID()
  sessionId?: string;
}

export class ChatSendResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10' })
  sessionId: string;

  @ApiProperty({ type: MessageResponseDto, description: 'The stored user message' })
  message: MessageResponseDto;

  @ApiProperty({ type: MessageResponseDto, description: 'The reply: complete or failed (200), or still pending (202)' })
  reply: MessageResponseDto;

  @ApiProperty({ example: 'b1946ac9-2a5e-4c7b-8f3d-0c1e2a3b4c5d' })
  requestId: string;
}
