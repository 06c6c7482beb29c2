import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { AdminGuard } from './admin.guard.js';
import { AdminStatsService } from './admin-stats.service.js';
import { AdminStatsResponseDto } from './admin.dto.js';

@ApiTags('admin')
@ApiBearerAuth()
@RateLimit('reads')
@UseGuards(AdminGuard)
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly stats: AdminStatsService) {}

  @Get('stats')
  @ApiOperation({
    summary: 'Cache, request, Redis and queue statistics of the last 60 s',
    description:
      'Admin role only (403 admin_required): cache size and hit rate, requests per second and latency percentiles, Redis availability, queue counts.',
  })
  @ApiOkResponse({ type: AdminStatsResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'admin_required' })
  get(): Promise<AdminStatsResponseDto> {
    return this.stats.stats();
  }
}
