import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { SendRetryDetector } from '../throttle/send-retry.port.js';
import { ChatService } from './chat.service.js';
import { GenerateReplyJob } from './jobs/generate-reply.job.js';
import { LlmProvider } from './llm/llm-provider.js';
import { LocalResponder } from './llm/local-responder.js';
import { MessageController } from './message.controller.js';
import { MessageRepository } from './message.repository.js';
import { ReplyGenerationService } from './reply-generation.service.js';
import { ReplyRepository } from './reply.repository.js';

@Module({
  imports: [SessionModule],
  controllers: [MessageController],
  providers: [
    ChatService,
    MessageRepository,
    { provide: SendRetryDetector, useExisting: MessageRepository },
    ReplyRepository,
    ReplyGenerationService,
    GenerateReplyJob,
    { provide: LlmProvider, useClass: LocalResponder },
  ],
})
export class ChatModule {}
