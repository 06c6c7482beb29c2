import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { AdminController } from './admin.controller.js';
import { AdminGuard } from './admin.guard.js';
import { AdminStatsService } from './admin-stats.service.js';

@Module({
  imports: [AccessModule, CacheModule],
  controllers: [AdminController],
  providers: [AdminGuard, AdminStatsService],
})
export class AdminModule {}
