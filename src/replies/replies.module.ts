import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CacheModule } from '../cache/cache.module.js';
import { EventsModule } from '../events/events.module.js';
import { MeModule } from '../me/me.module.js';
import { GenerateReplyJob } from './jobs/generate-reply.job.js';
import { LlmProvider } from './llm/llm-provider.js';
import { LocalResponder } from './llm/local-responder.js';
import { OpenAiProvider } from './llm/openai-provider.js';
import { MemoryExtractionTrigger } from './memory-extraction.trigger.js';
import { PromptService } from './prompt.service.js';
import { SummarizeBranchJob } from './jobs/summarize-branch.job.js';
import { SummaryRepository } from './summary/summary.repository.js';
import { SummaryService } from './summary/summary.service.js';
import { ReplyGenerationService } from './reply-generation.service.js';
import { ReplyQueue } from './reply-queue.service.js';
import { ReplyReconciler } from './reply-reconciler.service.js';
import { ReplyRepository } from './reply.repository.js';
import { ReplyStopService } from './reply-stop.service.js';

/** The reply pipeline: the queue job, generation under the session's lock, the prompt, the reconciler. */
@Module({
  imports: [CacheModule, EventsModule, MeModule],
  providers: [
    ReplyRepository,
    PromptService,
    MemoryExtractionTrigger,
    ReplyGenerationService,
    ReplyReconciler,
    ReplyQueue,
    ReplyStopService,
    GenerateReplyJob,
    SummaryRepository,
    SummaryService,
    SummarizeBranchJob,
    {
      provide: LlmProvider,
      inject: [AppConfig],
      useFactory: (config: AppConfig): LlmProvider =>
        config.llm.provider === 'openai' ? new OpenAiProvider(config) : new LocalResponder(config),
    },
  ],
  exports: [ReplyRepository, ReplyQueue, ReplyStopService, LlmProvider],
})
export class RepliesModule {}
