import { Injectable } from '@nestjs/common';
import type { MessageEntity } from './message.entity.js';

export type PendingReplyHandler = (reply: MessageEntity) => Promise<void>;

/**
 * Where a send hands over the pending reply it stored. The replies module takes them (it enqueues
 * the generation job, see replies/reply-queue.service.ts), so messages needs nothing from replies.
 * Handing over is best effort by contract: a reply that never reaches the queue is found by the
 * reconciler, because the stored row, not the handover, is the record.
 */
@Injectable()
export class PendingReplies {
  private handler: PendingReplyHandler | undefined;

  handleWith(handler: PendingReplyHandler): void {
    if (this.handler !== undefined) {
      throw new Error('pending replies already have a handler');
    }
    this.handler = handler;
  }

  async handOver(reply: MessageEntity): Promise<void> {
    await this.handler?.(reply);
  }
}
