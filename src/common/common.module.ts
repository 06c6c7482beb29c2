import { Global, Module } from '@nestjs/common';
import { ChangeNotifier, NoChangeNotifier } from './change-notifier.port.js';
import { LifecycleService } from './lifecycle.service.js';
import { SecurityEventsService } from './security-events.service.js';

@Global()
@Module({
  providers: [SecurityEventsService, LifecycleService, { provide: ChangeNotifier, useClass: NoChangeNotifier }],
  exports: [SecurityEventsService, LifecycleService, ChangeNotifier],
})
export class CommonModule {}
