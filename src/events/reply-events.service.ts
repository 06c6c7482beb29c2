import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { SessionDeletedListener } from '../common/session-deleted.port.js';
import {
  EventStream,
  TranscriptClosedError,
  type PublishOptions,
  type StreamListener,
  type StreamSubscription,
} from '../coordination/event-stream.port.js';
import type { LockFence } from '../coordination/lock.port.js';
import { mapMessage } from '../messages/message.dto.js';
import type { MessageEntity } from '../messages/message.entity.js';
import type { Exchange } from '../messages/message.repository.js';

export const ChatEventType = {
  MessageCreated: 'message.created',
  ReplyDelta: 'reply.delta',
  ReplyCreated: 'reply.created',
  ReplyCompleted: 'reply.completed',
  ReplyFailed: 'reply.failed',
  ReplyStopped: 'reply.stopped',
  ReplySuperseded: 'reply.superseded',
  /** The session is gone: every open stream of it ends after this event. */
  SessionDeleted: 'session.deleted',
} as const;

/**
 * The chat events of a session's stream (read by SSE on any replica). Events are a convenience on
 * top of the database, never the record: publishing is best effort and a failure only logs. A
 * finished reply's event is published after its row committed, so a reader woken by it sees the row.
 */
@Injectable()
export class ReplyEventsService extends SessionDeletedListener {
  constructor(
    private readonly stream: EventStream,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  subscribe(sessionId: string, afterId: string | undefined, listener: StreamListener): Promise<StreamSubscription> {
    return this.stream.subscribe(sessionId, afterId, listener);
  }

  messageCreated(exchange: Exchange): Promise<void> {
    const payload = { message: mapMessage(exchange.message), reply: mapMessage(exchange.reply) };
    return this.publish(exchange.message.sessionId, ChatEventType.MessageCreated, payload);
  }

  /**
   * Not awaited by the generator: deltas go out in order on one connection, and the completion
   * that follows them is awaited. `attempt` changes when a reply is restarted (a retry or another
   * worker taking over): clients drop the partial text of the earlier attempt. `fence` is the
   * session's generation lock: a generator that lost it (stalled past its TTL while another took
   * over) cannot append to the stream its successor now feeds.
   */
  replyDelta(reply: MessageEntity, attempt: number, delta: string, fence: LockFence | null, onStopped: () => void): void {
    const data = { messageId: reply.id, delta, attempt };
    const transcript = { key: reply.id, attempt, text: delta };
    void this.stream.publish(reply.sessionId, ChatEventType.ReplyDelta, data, { extendTtl: false, fence, transcript }).catch((error: Error) => {
      if (error instanceof TranscriptClosedError) {
        onStopped();
        return;
      }
      this.logger.debug({ sessionId: reply.sessionId, type: ChatEventType.ReplyDelta, err: error.message }, 'event not published');
    });
  }

  /**
   * Ends a reply's deltas and returns their text (of its latest attempt): once this returns, no
   * delta of the reply can be published by any worker, so every subscriber has seen exactly this.
   */
  closeDeltas(replyId: string): Promise<string> {
    return this.stream.closeTranscript(replyId);
  }

  replyStopped(reply: MessageEntity): Promise<void> {
    return this.publish(reply.sessionId, ChatEventType.ReplyStopped, { message: mapMessage(reply) });
  }

  replySuperseded(reply: MessageEntity): Promise<void> {
    return this.publish(reply.sessionId, ChatEventType.ReplySuperseded, { messageId: reply.id });
  }

  /** A reply made without a user message of its own (a regeneration). */
  replyCreated(reply: MessageEntity): Promise<void> {
    return this.publish(reply.sessionId, ChatEventType.ReplyCreated, { reply: mapMessage(reply) });
  }

  replyCompleted(reply: MessageEntity): Promise<void> {
    return this.publish(reply.sessionId, ChatEventType.ReplyCompleted, { message: mapMessage(reply) });
  }

  /** Read by every replica's open streams of the session, which end on it. */
  sessionDeleted(sessionId: string): Promise<void> {
    return this.publish(sessionId, ChatEventType.SessionDeleted, { sessionId });
  }

  replyFailed(reply: MessageEntity): Promise<void> {
    const payload = { messageId: reply.id, code: reply.errorCode ?? 'failed', reason: reply.errorMessage ?? 'The reply failed' };
    return this.publish(reply.sessionId, ChatEventType.ReplyFailed, payload);
  }

  private async publish(
    sessionId: string,
    type: string,
    data: unknown,
    options: PublishOptions = {},
    level: 'debug' | 'warn' = 'warn',
  ): Promise<void> {
    try {
      await this.stream.publish(sessionId, type, data, options);
    } catch (error) {
      this.logger[level]({ sessionId, type, err: (error as Error).message }, 'event not published');
    }
  }
}
