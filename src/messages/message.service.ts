import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { SessionException, SessionExceptionCode } from '../session/session.exception.js';
import { MessageException, MessageExceptionCode } from './message.exception.js';
import type { BranchMessage, MessageEntity } from '../conversation/message.entity.js';
import { MessageRepository, type Exchange } from './message.repository.js';
import { RegenerationRepository } from './regeneration.repository.js';
import { ReplyQueue } from '../replies/reply-queue.service.js';
import { SessionEventBus } from '../events/session-event-bus.service.js';

export interface SendInput {
  sessionId: string;
  ownerId: string;
  content: string;
  clientMessageId?: string;
  idempotencyKey?: string;
  /** Null: a new root; undefined: after the newest message. */
  parentId?: string | null;
  /**
   * Create the session `sessionId` with the exchange (POST /v1/chat/send without a session), or
   * send into it if it exists already (an id derived from the idempotency key).
   */
  createSession?: { title: string | null };
}

export interface SendResult extends Exchange {
  /** False when an idempotency key matched an earlier send: nothing new was stored. */
  created: boolean;
}

export interface HistoryPage {
  items: BranchMessage[];
  nextBeforeSeq: number | null;
}

const DEFAULT_HISTORY_PAGE = 50;

@Injectable()
export class MessageService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly regenerations: RegenerationRepository,
    private readonly events: SessionEventBus,
    private readonly replyQueue: ReplyQueue,
    private readonly config: AppConfig,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly metrics: MetricsService,
  ) {}

  async send(input: SendInput): Promise<SendResult> {
    const clientMessageId = this.resolveIdempotencyKey(input.clientMessageId, input.idempotencyKey);
    const result = await this.messages.appendExchange({
      sessionId: input.sessionId,
      ownerId: input.ownerId,
      content: input.content,
      clientMessageId,
      requestId: this.cls.getId(),
      maxPendingReplies: this.config.limits.maxPendingReplies,
      parentId: input.parentId,
      createSession:
        input.createSession === undefined
          ? undefined
          : { title: input.createSession.title, maxSessions: this.config.limits.maxSessionsPerUser },
    });
    switch (result.outcome) {
      case 'session_gone':
        throw new SessionException(SessionExceptionCode.NotFound);
      case 'too_many_sessions':
        throw new SessionException(SessionExceptionCode.TooMany);
      case 'key_reused':
        throw new MessageException(MessageExceptionCode.IdempotencyKeyReused);
      case 'parent_not_found':
        throw new MessageException(MessageExceptionCode.ParentNotFound);
      case 'too_many_pending':
        throw this.tooManyPendingReplies();
      case 'created':
      case 'repeated': {
        const { exchange } = result;
        const store = this.cls.get() as ParleyClsStore | undefined;
        if (store !== undefined) {
          store.sendOutcome = result.outcome;
        }
        if (result.outcome === 'created') {
          if (exchange.superseded) {
            this.metrics.replies.inc({ outcome: 'superseded' });
            await this.events.replySuperseded(exchange.superseded);
          }
          await this.events.messageCreated(exchange.message, exchange.reply);
        }
        if (exchange.reply.status === 'pending' || exchange.reply.status === 'streaming') {
          await this.replyQueue.enqueue(exchange.reply);
        }
        return { ...exchange, created: result.outcome === 'created' };
      }
    }
  }

  /** A new pending reply beside a finished one (same user message), generated from its branch. */
  async regenerate(sessionId: string, ownerId: string, replyId: string): Promise<MessageEntity> {
    const result = await this.regenerations.appendSibling({
      sessionId,
      ownerId,
      replyId,
      requestId: this.cls.getId(),
      maxPendingReplies: this.config.limits.maxPendingReplies,
    });
    switch (result.outcome) {
      case 'session_gone':
        throw new SessionException(SessionExceptionCode.NotFound);
      case 'reply_not_found':
        throw new MessageException(MessageExceptionCode.ReplyNotFound);
      case 'reply_not_finished':
        throw new MessageException(MessageExceptionCode.ReplyNotFinished);
      case 'too_many_pending':
        throw this.tooManyPendingReplies();
      case 'created':
        await this.events.replyCreated(result.reply);
        await this.replyQueue.enqueue(result.reply);
        return result.reply;
    }
  }

  /** A page of one branch: the one ending at `leafId`, or by default the newest message's. */
  async history(
    sessionId: string,
    limit = DEFAULT_HISTORY_PAGE,
    beforeSeq?: number,
    leafId?: string,
  ): Promise<HistoryPage> {
    const rows = await this.messages.listBranch(sessionId, leafId ?? null, limit, beforeSeq ?? null);
    if (rows === null) {
      throw new MessageException(MessageExceptionCode.MessageNotFound);
    }
    const items = rows.length > limit ? rows.slice(1) : rows;
    return { items, nextBeforeSeq: rows.length > limit && items[0] ? items[0].seq : null };
  }

  async findMessage(sessionId: string, messageId: string): Promise<MessageEntity> {
    const message = await this.messages.findInSession(sessionId, messageId);
    if (message === null) {
      throw new MessageException(MessageExceptionCode.MessageNotFound);
    }
    return message;
  }

  /**
   * The send's idempotency key: clientMessageId or the Idempotency-Key header (equal when both are
   * given). The header itself is validated by IdempotencyKeyPipe.
   */
  resolveIdempotencyKey(clientMessageId?: string, header?: string): string | null {
    if (clientMessageId !== undefined && header !== undefined && clientMessageId !== header) {
      throw new MessageException(MessageExceptionCode.IdempotencyKeyMismatch);
    }
    return clientMessageId ?? header ?? null;
  }

  /** Counted as a throttled request, and answered with the limit in its message. */
  private tooManyPendingReplies(): MessageException {
    this.metrics.throttled.inc({ limit: 'pending_replies' });
    return new MessageException(
      MessageExceptionCode.TooManyPendingReplies,
      `At most ${this.config.limits.maxPendingReplies} replies may be pending at once; wait for one to complete`,
    );
  }
}
