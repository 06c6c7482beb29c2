import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { SessionModule } from '../session/session.module.js';
import { SendRetryDetector } from '../throttle/send-retry.port.js';
import { ChatSendController } from './chat-send.controller.js';
import { ChatSendService } from './chat-send.service.js';
import { ChatService } from './chat.service.js';
import { GenerateReplyJob } from './jobs/generate-reply.job.js';
import { LlmProvider } from './llm/llm-provider.js';
import { LocalResponder } from './llm/local-responder.js';
import { OpenAiProvider } from './llm/openai-provider.js';
import { MessageController } from './message.controller.js';
import { MessageRepository } from './message.repository.js';
import { PromptService } from './prompt.service.js';
import { ReplyEventsService } from './reply-events.service.js';
import { ReplyGenerationService } from './reply-generation.service.js';
import { ReplyReconciler } from './reply-reconciler.service.js';
import { ReplyRepository } from './reply.repository.js';
import { SessionEventsController } from './session-events.controller.js';
import { SessionEventsService } from './session-events.service.js';

@Module({
  imports: [SessionModule],
  controllers: [MessageController, SessionEventsController, ChatSendController],
  providers: [
    ChatService,
    ChatSendService,
    MessageRepository,
    { provide: SendRetryDetector, useExisting: MessageRepository },
    ReplyRepository,
    ReplyEventsService,
    SessionEventsService,
    PromptService,
    ReplyGenerationService,
    ReplyReconciler,
    GenerateReplyJob,
    {
      provide: LlmProvider,
      inject: [AppConfig],
      useFactory: (config: AppConfig): LlmProvider =>
        config.llm.provider === 'openai' ? new OpenAiProvider(config) : new LocalResponder(config),
    },
  ],
})
export class ChatModule {}
