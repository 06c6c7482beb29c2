import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';

export class SessionEventsQueryDto {
  @ApiPropertyOptional({ example: '1767225600000-0', description: 'Same as the Last-Event-ID header (which wins)' })
  @IsOptional()
  @IsString()
  lastEventId?: string;
}
