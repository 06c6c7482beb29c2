import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import type { MessageEntity } from '../conversation/message.entity.js';
import { REPLIES_QUEUE, type GenerateReplyJobData } from './replies.constants.js';

/**
 * Puts the pending reply of a send on the replies queue (the job id is the reply id, so a repeated
 * send enqueues nothing new). The producer side of the queue: the consumer is jobs/generate-reply.job.ts.
 */
@Injectable()
export class ReplyQueue {
  constructor(
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly queue: JobQueue<GenerateReplyJobData>,
    private readonly cls: ClsService<ParleyClsStore>,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The reply is already stored: if the queue is unreachable now, the send still succeeded and the
   * reconciler enqueues the reply later. The queue bounds the wait itself (JobQueue.add gives up
   * after its own timeout, and the add may still land later, which is harmless).
   */
  async enqueue(reply: MessageEntity): Promise<void> {
    try {
      await this.queue.add(reply.id, { replyId: reply.id, sessionId: reply.sessionId, requestId: this.cls.getId() });
    } catch (error) {
      this.logger.warn({ replyId: reply.id, err: (error as Error).message }, 'enqueue failed; left to the reconciler');
    }
  }
}
