import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { LockService } from '../coordination/lock.port.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LlmProvider, type PromptMessage } from './llm/llm-provider.js';
import type { MessageEntity } from './message.entity.js';
import { ReplyRepository } from './reply.repository.js';

const HISTORY_MESSAGES = 50;

/** The reply was taken over by another worker (its fenced write matched no row). */
export class ReplyFencedError extends Error {
  constructor(replyId: string) {
    super(`reply ${replyId} was taken over by another attempt`);
  }
}

export function toPrompt(history: readonly MessageEntity[]): PromptMessage[] {
  return history.map((message) => ({ role: message.role, content: message.content }));
}

/**
 * Produces replies one session at a time, in seq order, under the session's generation lock.
 * Whoever holds the lock generates every open reply of the session, so a job that finds the lock
 * taken can return: its reply is on the holder's list.
 */
@Injectable()
export class ReplyGenerationService {
  constructor(
    private readonly replies: ReplyRepository,
    private readonly locks: LockService,
    private readonly llm: LlmProvider,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  async generateSession(sessionId: string): Promise<void> {
    for (;;) {
      const result = await this.locks.tryWithLock(
        `reply-generation:${sessionId}`,
        { ttlMs: this.config.replies.lockTtlMs },
        (signal) => this.drain(sessionId, signal),
      );
      if (!result.acquired) {
        return;
      }
      // A send may have committed just as the lock was released: look once more.
      if ((await this.replies.nextOpenReply(sessionId)) === null) {
        return;
      }
    }
  }

  private async drain(sessionId: string, signal: AbortSignal): Promise<void> {
    for (let reply = await this.replies.nextOpenReply(sessionId); reply; reply = await this.replies.nextOpenReply(sessionId)) {
      signal.throwIfAborted();
      await this.generate(reply, signal);
    }
  }

  private async generate(reply: MessageEntity, signal: AbortSignal): Promise<void> {
    const attempt = await this.replies.beginAttempt(reply.id);
    if (attempt === null) {
      return;
    }
    const history = await this.replies.conversationBefore(reply.sessionId, reply.seq, HISTORY_MESSAGES);
    const content = await this.streamReply(toPrompt(history), signal);
    signal.throwIfAborted();
    if ((await this.replies.complete(reply.id, attempt, content)) === null) {
      this.metrics.replies.inc({ outcome: 'fenced' });
      throw new ReplyFencedError(reply.id);
    }
    this.metrics.replies.inc({ outcome: 'complete' });
    this.metrics.replyLatency.observe((Date.now() - reply.createdAt.getTime()) / 1000);
    this.logger.debug({ replyId: reply.id, attempt }, 'reply completed');
  }

  private async streamReply(prompt: PromptMessage[], signal: AbortSignal): Promise<string> {
    const provider = this.llm.name;
    const stop = this.metrics.llmDuration.startTimer({ provider });
    let content = '';
    try {
      for await (const token of this.llm.stream(prompt, signal)) {
        content += token;
        this.metrics.llmTokens.inc({ provider });
      }
    } catch (error) {
      stop({ outcome: 'error' });
      throw error;
    }
    stop({ outcome: 'ok' });
    return content;
  }
}
