import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { Cached } from '../cache/cached.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import {
  CreateMemoryDto,
  ListMemoriesQueryDto,
  mapMemory,
  MemoryListResponseDto,
  MemoryResponseDto,
} from './memory.dto.js';
import type { OwnedResource } from '../access/access.service.js';
import { MemoryOwnershipGuard, OwnedMemory } from './memory-ownership.guard.js';
import { MemoryService } from './memory.service.js';

@ApiTags('memories')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiBadRequestResponse({ type: ErrorResponseDto })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
@RateLimit('reads')
@Controller('v1/memories')
export class MemoryController {
  constructor(private readonly memories: MemoryService) {}

  @Get()
  @Cached({ kind: 'memories', query: ['q', 'limit', 'cursor'] })
  @ApiOperation({
    summary: "The caller's memories: full-text search with q, otherwise the newest",
    description: 'Own memories only. q uses English stemming, "phrases", or and -word; limit 1..100 (default 20).',
  })
  @ApiOkResponse({ type: MemoryListResponseDto })
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListMemoriesQueryDto,
  ): Promise<MemoryListResponseDto> {
    const page = await this.memories.list(user.id, query.q, query.limit, query.cursor);
    return { items: page.items.map(mapMemory), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiOperation({
    summary: 'Remember something for the caller',
    description:
      'A memory (1..2000 characters) that reaches the prompts of your replies; 409 too_many_memories past MAX_MEMORIES_PER_USER.',
  })
  @ApiCreatedResponse({ type: MemoryResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'too_many_memories: MAX_MEMORIES_PER_USER reached' })
  async create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateMemoryDto): Promise<MemoryResponseDto> {
    return mapMemory(await this.memories.remember(user.id, dto.content));
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Forget everything about the caller',
    description: "Deletes all of the caller's memories, and none of anyone else's.",
  })
  @ApiNoContentResponse({ description: "All of the caller's memories are deleted (none of anyone else's)" })
  async forgetAll(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    await this.memories.forgetAll(user.id);
  }

  @Delete(':memoryId')
  @UseGuards(MemoryOwnershipGuard)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Forget one memory',
    description: "403 memory_forbidden for another user's memory, 404 for one that does not exist.",
  })
  @ApiParam({ name: 'memoryId', format: 'uuid' })
  @ApiNoContentResponse()
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'memory_forbidden' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'memory_not_found' })
  async forget(@OwnedMemory() memory: OwnedResource): Promise<void> {
    await this.memories.forget(memory);
  }
}
