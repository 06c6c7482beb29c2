import { ApiProperty } from '@nestjs/swagger';

export class StreamTicketResponseDto {
  @ApiProperty({
    description: 'Opaque; pass it as ?ticket= to the events route. Do not store it beyond expiresAt.',
    example: 'st_Vx3k9Qm2yT8bLr5wZ1cN7hJ4dF6gP0sA2eU9iO3kM1q',
  })
  ticket: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:05:00.000Z' })
  expiresAt: string;
}
