import { Global, Module } from '@nestjs/common';
import { LifecycleService } from './lifecycle.service.js';
import { SecurityEventsService } from './security-events.service.js';

@Global()
@Module({
  providers: [SecurityEventsService, LifecycleService],
  exports: [SecurityEventsService, LifecycleService],
})
export class CommonModule {}
