import { ApiProperty } from '@nestjs/swagger';

export class CacheStatsDto {
  @ApiProperty({ example: 812, description: 'Entries in the in-process tier' })
  size: number;

  @ApiProperty({ example: 10000 })
  maxSize: number;

  @ApiProperty({ example: 9120 })
  hits: number;

  @ApiProperty({ example: 880 })
  misses: number;

  @ApiProperty({ example: 0.912, description: 'hits / (hits + misses); 0 before any look-up' })
  hitRate: number;
}

export class PerformanceStatsDto {
  @ApiProperty({ example: 41.5 })
  requestsPerSecond: number;

  @ApiProperty({ example: 12.3, description: 'Mean response time in ms' })
  avgResponseTime: number;

  @ApiProperty({ example: 48.2, description: 'ms' })
  p95ResponseTime: number;

  @ApiProperty({ example: 95.4, description: 'ms' })
  p99ResponseTime: number;

  @ApiProperty({ example: 2490 })
  totalRequests: number;
}

export class RedisStatsDto {
  @ApiProperty({ example: true })
  available: boolean;
}

export class QueueStatsDto {
  @ApiProperty({ example: 3 })
  waiting: number;

  @ApiProperty({ example: 2 })
  active: number;

  @ApiProperty({ example: 0 })
  delayed: number;

  @ApiProperty({ example: 0 })
  failed: number;
}

export class AdminStatsResponseDto {
  @ApiProperty({ type: CacheStatsDto })
  cache: CacheStatsDto;

  @ApiProperty({ type: PerformanceStatsDto, description: 'This replica, over the last 60 s' })
  performance: PerformanceStatsDto;

  @ApiProperty({ type: RedisStatsDto })
  redis: RedisStatsDto;

  @ApiProperty({ type: QueueStatsDto, description: 'The replies queue, shared by all replicas' })
  queue: QueueStatsDto;
}
