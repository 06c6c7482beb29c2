import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { MemoryProvider } from '../common/memory-provider.port.js';
import { AppConfig } from '../config/app-config.js';
import { MeModule } from '../me/me.module.js';
import { LlmModule } from '../llm/llm.module.js';
import { LlmProvider } from '../llm/llm-provider.js';
import { FactExtractor, ModelFactExtractor, RuleFactExtractor } from './extraction/fact-extractor.js';
import { ExtractMemoriesJob } from './jobs/extract-memories.job.js';
import { MemoryController } from './memory.controller.js';
import { MemoryExtractionRepository } from './memory-extraction.repository.js';
import { MemoryExtractionService } from './memory-extraction.service.js';
import { MemoryOwnershipGuard } from './memory-ownership.guard.js';
import { MemoryPromptSource } from './memory-prompt.source.js';
import { MemoryRepository } from './memory.repository.js';
import { MemoryService } from './memory.service.js';

/**
 * Per-user long-term memory: the /v1/memories API, what the reply pipeline puts into prompts (it
 * imports this module for MemoryProvider), and the extraction of memories from conversations (a
 * queue job after each completed reply, reading facts with the model of the llm module).
 */
@Module({
  imports: [AccessModule, CacheModule, LlmModule, MeModule],
  controllers: [MemoryController],
  providers: [
    MemoryRepository,
    MemoryService,
    MemoryOwnershipGuard,
    MemoryPromptSource,
    { provide: MemoryProvider, useExisting: MemoryPromptSource },
    MemoryExtractionRepository,
    MemoryExtractionService,
    ExtractMemoriesJob,
    {
      provide: FactExtractor,
      inject: [AppConfig, LlmProvider],
      useFactory: (config: AppConfig, llm: LlmProvider): FactExtractor =>
        config.llm.provider === 'openai' ? new ModelFactExtractor(llm) : new RuleFactExtractor(),
    },
  ],
  exports: [MemoryPromptSource, MemoryProvider],
})
export class MemoryModule {}
