import { Module } from '@nestjs/common';
import { LifecycleService } from './lifecycle.service.js';

/** The process's lifecycle state (starting, ready, draining), read by health and main. */
@Module({
  providers: [LifecycleService],
  exports: [LifecycleService],
})
export class CommonModule {}
