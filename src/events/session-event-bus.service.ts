import { replyFailure } from '../conversation/message.mapper.js';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import type { SessionDeletedListener } from '../session/session-deleted-listeners.service.js';
import {
  EventStream,
  TranscriptClosedError,
  type PublishOptions,
  type StreamListener,
  type StreamSubscription,
} from '../coordination/event-stream.port.js';
import type { LockFence } from '../coordination/lock.port.js';
import {
  SessionEventType,
  toMessagePayload,
  type MessageCreatedPayload,
  type ReplyCompletedPayload,
  type ReplyCreatedPayload,
  type ReplyDeltaPayload,
  type ReplyFailedPayload,
  type ReplyStoppedPayload,
  type ReplySupersededPayload,
  type StoredMessage,
} from './session-event.payloads.js';

/**
 * The events of a session's stream (read by SSE on any replica). Events are a convenience on
 * top of the database, never the record: publishing is best effort and a failure only logs. A
 * finished reply's event is published after its row committed, so a reader woken by it sees the row.
 */
@Injectable()
export class SessionEventBus implements SessionDeletedListener {
  constructor(
    private readonly stream: EventStream,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  subscribe(sessionId: string, afterId: string | undefined, listener: StreamListener): Promise<StreamSubscription> {
    return this.stream.subscribe(sessionId, afterId, listener);
  }

  messageCreated(message: StoredMessage, reply: StoredMessage): Promise<void> {
    const payload: MessageCreatedPayload = { message: toMessagePayload(message), reply: toMessagePayload(reply) };
    return this.publish(message.sessionId, SessionEventType.MessageCreated, payload);
  }

  /**
   * Not awaited by the generator: deltas go out in order on one connection, and the completion
   * that follows them is awaited. `attempt` changes when a reply is restarted (a retry or another
   * worker taking over): clients drop the partial text of the earlier attempt. `fence` is the
   * session's generation lock: a generator that lost it (stalled past its TTL while another took
   * over) cannot append to the stream its successor now feeds.
   */
  replyDelta(
    reply: StoredMessage,
    attempt: number,
    delta: string,
    fence: LockFence | null,
    onStopped: () => void,
  ): void {
    const data: ReplyDeltaPayload = { messageId: reply.id, delta, attempt };
    const transcript = { key: reply.id, attempt, text: delta };
    void this.stream
      .publish(reply.sessionId, SessionEventType.ReplyDelta, data, { extendTtl: false, fence, transcript })
      .catch((error: Error) => {
        if (error instanceof TranscriptClosedError) {
          onStopped();
          return;
        }
        this.logger.debug(
          { sessionId: reply.sessionId, type: SessionEventType.ReplyDelta, err: error.message },
          'event not published',
        );
      });
  }

  /**
   * Ends a reply's deltas and returns their text (of its latest attempt): once this returns, no
   * delta of the reply can be published by any worker, so every subscriber has seen exactly this.
   */
  closeDeltas(replyId: string): Promise<string> {
    return this.stream.closeTranscript(replyId);
  }

  replyStopped(reply: StoredMessage): Promise<void> {
    const payload: ReplyStoppedPayload = { message: toMessagePayload(reply) };
    return this.publish(reply.sessionId, SessionEventType.ReplyStopped, payload);
  }

  replySuperseded(reply: StoredMessage): Promise<void> {
    const payload: ReplySupersededPayload = { messageId: reply.id };
    return this.publish(reply.sessionId, SessionEventType.ReplySuperseded, payload);
  }

  /** A reply made without a user message of its own (a regeneration). */
  replyCreated(reply: StoredMessage): Promise<void> {
    const payload: ReplyCreatedPayload = { reply: toMessagePayload(reply) };
    return this.publish(reply.sessionId, SessionEventType.ReplyCreated, payload);
  }

  replyCompleted(reply: StoredMessage): Promise<void> {
    const payload: ReplyCompletedPayload = { message: toMessagePayload(reply) };
    return this.publish(reply.sessionId, SessionEventType.ReplyCompleted, payload);
  }

  /** Read by every replica's open streams of the session, which end on it. */
  sessionDeleted(sessionId: string): Promise<void> {
    return this.publish(sessionId, SessionEventType.SessionDeleted, { sessionId });
  }

  replyFailed(reply: StoredMessage): Promise<void> {
    const failure = replyFailure(reply);
    const payload: ReplyFailedPayload = { messageId: reply.id, code: failure.code, reason: failure.message };
    return this.publish(reply.sessionId, SessionEventType.ReplyFailed, payload);
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
