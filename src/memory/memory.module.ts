import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { MemoryProvider } from '../common/memory-provider.port.js';
import { MemoryController } from './memory.controller.js';
import { MemoryOwnershipGuard } from './memory-ownership.guard.js';
import { MemoryPromptSource } from './memory-prompt.source.js';
import { MemoryRepository } from './memory.repository.js';
import { MemoryService } from './memory.service.js';

/** Per-user long-term memory: the /v1/memories API and what the reply pipeline puts into prompts. */
@Module({
  imports: [AccessModule, CacheModule],
  controllers: [MemoryController],
  providers: [
    MemoryRepository,
    MemoryService,
    MemoryOwnershipGuard,
    MemoryPromptSource,
    { provide: MemoryProvider, useExisting: MemoryPromptSource },
  ],
  exports: [MemoryPromptSource, MemoryProvider],
})
export class MemoryModule {}
