import { Module } from '@nestjs/common';
import { AdminController } from './admin.controller.js';
import { AdminGuard } from './admin.guard.js';
import { AdminStatsService } from './admin-stats.service.js';

@Module({ controllers: [AdminController], providers: [AdminGuard, AdminStatsService] })
export class AdminModule {}
