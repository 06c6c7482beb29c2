import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { EVENT_ID } from '../coordination/event-stream.port.js';

/** No examples: Swagger UI would fill them in, and a made-up event id or ticket only fails. */
export class SessionEventsQueryDto {
  @ApiPropertyOptional({ description: 'Resume after this event id; same as the Last-Event-ID header (which wins)' })
  @IsOptional()
  @IsString()
  @Matches(EVENT_ID, { message: 'lastEventId must be an event id such as 1767225600000-0' })
  lastEventId?: string;

  @ApiPropertyOptional({
    description:
      'A stream ticket (POST /v1/sessions/{sessionId}/events/tickets) instead of a bearer token, for the ' +
      "browser's EventSource. Never logged.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  ticket?: string;
}
