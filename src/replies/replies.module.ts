import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { EventsModule } from '../events/events.module.js';
import { LlmModule } from '../llm/llm.module.js';
import { MeModule } from '../me/me.module.js';
import { MemoryModule } from '../memory/memory.module.js';
import { GenerateReplyJob } from './jobs/generate-reply.job.js';
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

/**
 * The reply pipeline: the queue job, generation under the session's lock, the prompt (with the
 * user's memories), the reconciler.
 */
@Module({
  imports: [CacheModule, EventsModule, LlmModule, MeModule, MemoryModule],
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
  ],
  exports: [ReplyRepository, ReplyQueue, ReplyStopService],
})
export class RepliesModule {}
