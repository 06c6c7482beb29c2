import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The body of every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ example: 403 })
  statusCode: number;

  @ApiProperty({ example: 'Forbidden' })
  error: string;

  @ApiProperty({ example: 'This session belongs to another user' })
  message: string;

  @ApiPropertyOptional({ example: 'session_forbidden', description: 'A machine-readable reason' })
  code?: string;

  @ApiProperty({ example: '0b8f7a52-2c1e-4f0e-9a7b-5d2f7b1c9e44' })
  requestId: string;
}
