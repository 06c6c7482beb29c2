import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { EVENT_ID } from '../coordination/event-stream.port.js';

export class SessionEventsQueryDto {
  @ApiPropertyOptional({ example: '1767225600000-0', description: 'Same as the Last-Event-ID header (which wins)' })
  @IsOptional()
  @IsString()
  @Matches(EVENT_ID, { message: 'lastEventId must be an event id such as 1767225600000-0' })
  lastEventId?: string;
}
