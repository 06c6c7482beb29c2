import { Global, Module } from '@nestjs/common';
import { ChangeNotifier, NoChangeNotifier } from './change-notifier.port.js';
import { LifecycleService } from './lifecycle.service.js';
import { MemoryProvider, NoMemoryProvider } from './memory-provider.port.js';
import { SecurityEventsService } from './security-events.service.js';

@Global()
@Module({
  providers: [
    SecurityEventsService,
    LifecycleService,
    { provide: ChangeNotifier, useClass: NoChangeNotifier },
    { provide: MemoryProvider, useClass: NoMemoryProvider },
  ],
  exports: [SecurityEventsService, LifecycleService, ChangeNotifier, MemoryProvider],
})
export class CommonModule {}
