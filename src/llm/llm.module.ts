import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { LlmProvider } from './llm-provider.js';
import { LocalResponder } from './local-responder.js';
import { OpenAiProvider } from './openai-provider.js';

/**
 * The model Parley talks to, chosen once from LLM_PROVIDER: the reply pipeline generates with it and
 * the memory extraction reads facts with it, so it belongs to neither.
 */
@Module({
  providers: [
    {
      provide: LlmProvider,
      inject: [AppConfig],
      useFactory: (config: AppConfig): LlmProvider =>
        config.llm.provider === 'openai' ? new OpenAiProvider(config) : new LocalResponder(config),
    },
  ],
  exports: [LlmProvider],
})
export class LlmModule {}
