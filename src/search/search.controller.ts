import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { Cached } from '../cache/cached.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { mapHit, SearchQueryDto, SearchResponseDto } from './search.dto.js';
import { SearchService } from './search.service.js';

@ApiTags('search')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'validation_failed, invalid_cursor' })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
@RateLimit('reads')
@Controller('v1/search')
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get()
  @Cached({ kind: 'search', query: ['q', 'limit', 'cursor'] })
  @ApiOperation({ summary: "Full-text search over the caller's own messages in all their sessions" })
  @ApiOkResponse({ type: SearchResponseDto })
  async find(@CurrentUser() user: AuthenticatedUser, @Query() query: SearchQueryDto): Promise<SearchResponseDto> {
    const page = await this.search.search(user.id, query.q, query.limit, query.cursor);
    return { items: page.items.map(mapHit), nextCursor: page.nextCursor };
  }
}
