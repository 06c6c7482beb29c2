import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { CommonException } from '../common/domain.exception.js';
import { PINO_LOGGER } from '../common/logger.module.js';
import { withTimeout } from '../common/with-timeout.util.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ParleyClsStore } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { jobQueueToken } from '../coordination/coordination.module.js';
import type { JobQueue } from '../coordination/job-queue.port.js';
import { SessionException, SessionExceptionCode } from '../session/session.exception.js';
import { ChatException } from './message.exception.js';
import { REPLIES_QUEUE, type GenerateReplyJobData } from '../replies/replies.constants.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from './message.dto.js';
import type { BranchMessage, MessageEntity } from './message.entity.js';
import { MessageRepository, type Exchange } from './message.repository.js';
import { RegenerationRepository } from './regeneration.repository.js';
import { ReplyEventsService } from '../events/reply-events.service.js';

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
const ENQUEUE_TIMEOUT_MS = 1000;

@Injectable()
export class MessageService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly regenerations: RegenerationRepository,
    private readonly events: ReplyEventsService,
    @Inject(jobQueueToken(REPLIES_QUEUE)) private readonly replies: JobQueue<GenerateReplyJobData>,
    private readonly config: AppConfig,
    private readonly cls: ClsService<ParleyClsStore>,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
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
        throw ChatException.idempotencyKeyReused();
      case 'parent_not_found':
        throw ChatException.parentNotFound();
      case 'too_many_pending':
        this.metrics.throttled.inc({ limit: 'pending_replies' });
        throw ChatException.tooManyPendingReplies(this.config.limits.maxPendingReplies);
      case 'created':
      case 'repeated': {
        const { exchange } = result;
        if (result.outcome === 'created') {
          await this.events.messageCreated(exchange);
        }
        if (exchange.reply.status === 'pending' || exchange.reply.status === 'streaming') {
          await this.enqueue(exchange.reply);
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
        throw ChatException.replyNotFound();
      case 'reply_not_finished':
        throw ChatException.replyNotFinished();
      case 'too_many_pending':
        this.metrics.throttled.inc({ limit: 'pending_replies' });
        throw ChatException.tooManyPendingReplies(this.config.limits.maxPendingReplies);
      case 'created':
        await this.events.replyCreated(result.reply);
        await this.enqueue(result.reply);
        return result.reply;
    }
  }

  /** A page of one branch: the one ending at `leafId`, or by default the newest message's. */
  async history(sessionId: string, limit = DEFAULT_HISTORY_PAGE, beforeSeq?: number, leafId?: string): Promise<HistoryPage> {
    const rows = await this.messages.listBranch(sessionId, leafId ?? null, limit, beforeSeq ?? null);
    if (rows === null) {
      throw ChatException.messageNotFound();
    }
    const items = rows.length > limit ? rows.slice(1) : rows;
    return { items, nextBeforeSeq: rows.length > limit && items[0] ? items[0].seq : null };
  }

  async findMessage(sessionId: string, messageId: string): Promise<MessageEntity> {
    const message = await this.messages.findInSession(sessionId, messageId);
    if (message === null) {
      throw ChatException.messageNotFound();
    }
    return message;
  }

  /**
   * The reply is already stored: if the queue is unreachable now, the send still succeeded and the
   * reconciler enqueues the reply later. The queue's client waits for Redis to come back rather
   * than failing, so the send waits at most ENQUEUE_TIMEOUT_MS for it (the add may still land
   * later, which is harmless). A repeated send enqueues again, which is a no-op by job id.
   */
  private async enqueue(reply: MessageEntity): Promise<void> {
    const added = this.replies.add(reply.id, {
      replyId: reply.id,
      sessionId: reply.sessionId,
      requestId: this.cls.getId(),
    });
    try {
      await withTimeout(added, ENQUEUE_TIMEOUT_MS, 'the queue');
    } catch (error) {
      this.logger.warn(
        { replyId: reply.id, err: (error as Error).message },
        'enqueue failed; left to the reconciler',
      );
    }
  }

  /** The send's idempotency key: clientMessageId or the Idempotency-Key header (equal when both are given). */
  resolveIdempotencyKey(clientMessageId?: string, header?: string): string | null {
    if (header !== undefined && (header.length === 0 || header.length > IDEMPOTENCY_KEY_MAX_LENGTH)) {
      throw CommonException.validation(`Idempotency-Key must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
    }
    if (clientMessageId !== undefined && header !== undefined && clientMessageId !== header) {
      throw ChatException.idempotencyKeyMismatch();
    }
    return clientMessageId ?? header ?? null;
  }
}
