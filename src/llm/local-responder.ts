import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { LlmProvider, type PromptMessage } from './llm-provider.js';

const MAX_ECHOED_WORDS = 24;

/**
 * A deterministic stand-in for a model: the same prompt always gives the same reply, streamed
 * word by word with LOCAL_LLM_DELAY_MS between tokens to imitate a slow model.
 */
@Injectable()
export class LocalResponder extends LlmProvider {
  readonly name = 'local';

  constructor(private readonly config: AppConfig) {
    super();
  }

  static replyTo(prompt: readonly PromptMessage[]): string {
    const lastUser = [...prompt].reverse().find((message) => message.role === 'user');
    const words = (lastUser?.content ?? '').split(/\s+/).filter(Boolean).slice(0, MAX_ECHOED_WORDS);
    const turn = prompt.filter((message) => message.role === 'user').length;
    return `Reply ${turn}: you said "${words.join(' ')}".`;
  }

  async *stream(prompt: readonly PromptMessage[], signal: AbortSignal): AsyncIterable<string> {
    const tokens = LocalResponder.replyTo(prompt).split(/(?<= )/);
    const delay = this.config.llm.localDelayMs;
    for (const token of tokens) {
      signal.throwIfAborted();
      if (delay > 0) {
        await sleep(delay, undefined, { signal });
      }
      yield token;
    }
  }
}
