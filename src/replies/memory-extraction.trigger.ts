import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import { extractionJobId, MEMORY_EXTRACTION_QUEUE, type ExtractMemoriesJobData } from '../memory/memory.constants.js';
import type { MessageCore, MessageEntity } from '../conversation/message.entity.js';
import { ReplyRepository } from './reply.repository.js';

/**
 * After a reply completed: asks for the memories in its user message to be extracted, once per
 * user message (the job id is derived from it). Never fails the reply: a queue that cannot take the
 * job now costs the memories of that message, not the answer.
 */
@Injectable()
export class MemoryExtractionTrigger {
  constructor(
    @Inject(jobQueueToken(MEMORY_EXTRACTION_QUEUE)) private readonly queue: JobQueue<ExtractMemoriesJobData>,
    private readonly replies: ReplyRepository,
    private readonly cls: ClsService<ParleyClsStore>,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * `answered`: the user message as the reply's prompt read it, when the caller has it; used when
   * it is the one the reply answers (not read again), looked up otherwise.
   */
  async replyCompleted(reply: MessageEntity, answered?: MessageCore): Promise<void> {
    if (reply.replyTo === null) {
      return;
    }
    try {
      const question =
        answered?.id === reply.replyTo && answered.role === 'user'
          ? answered
          : await this.replies.findUserMessage(reply.replyTo);
      if (question === null) {
        return;
      }
      await this.queue.add(extractionJobId(question.id), {
        ownerId: question.ownerId,
        sessionId: question.sessionId,
        messageId: question.id,
        content: question.content,
        requestId: this.cls.getId() ?? reply.requestId ?? reply.id,
      });
    } catch (error) {
      this.logger.warn({ replyId: reply.id, err: (error as Error).message }, 'memory extraction not enqueued');
    }
  }
}
