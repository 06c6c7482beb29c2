import { randomUUID } from 'node:crypto';
import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { AccessResource } from '../access/access.constants.js';
import { AccessService } from '../access/access.service.js';
import { AppConfig } from '../config/app-config.js';
import type { StreamSubscription } from '../coordination/event-stream.port.js';
import { sessionIdForKey } from '../messages/idempotent-session.util.js';
import { MessageService } from '../messages/message.service.js';
import { TERMINAL_STATUSES, type MessageEntity } from '../conversation/message.entity.js';
import { SessionEventBus } from '../events/session-event-bus.service.js';
import { finishedReplyId } from '../events/session-event.payloads.js';
import { ReplyRepository } from '../replies/reply.repository.js';

export interface ChatSendInput {
  ownerId: string;
  content: string;
  sessionId?: string;
  /** The Idempotency-Key header: a repeat answers the original send, another body is 422. */
  idempotencyKey?: string;
}

export interface ChatSendResult {
  sessionId: string;
  message: MessageEntity;
  reply: MessageEntity;
  /** True when the reply finished (complete or failed) within REPLY_WAIT_MS. */
  finished: boolean;
}

const TITLE_LENGTH = 80;
/** The database is looked at this often while waiting, in case an event never comes (Redis away). */
const POLL_MS = 1000;

function isFinished(reply: MessageEntity): boolean {
  return TERMINAL_STATUSES.includes(reply.status);
}

/**
 * POST /v1/chat/send: one call that sends (creating the session if needed) and waits for the reply.
 * At shutdown the waits end at once (202 with the pending reply), so they do not hold up the drain.
 */
@Injectable()
export class ChatSendService implements BeforeApplicationShutdown {
  private readonly waiting = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly messages: MessageService,
    private readonly access: AccessService,
    private readonly replies: ReplyRepository,
    private readonly events: SessionEventBus,
    private readonly config: AppConfig,
  ) {}

  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const wake of this.waiting) {
      wake();
    }
  }

  /**
   * Without a session, a send with an idempotency key creates the session named by that key
   * (sessionIdForKey): its retries land in the same session and are recognised there.
   */
  async sendAndWait(input: ChatSendInput): Promise<ChatSendResult> {
    const key = this.messages.resolveIdempotencyKey(undefined, input.idempotencyKey);
    const sessionId = input.sessionId ?? (key === null ? randomUUID() : sessionIdForKey(input.ownerId, key));
    if (input.sessionId !== undefined) {
      await this.access.requireAccess({
        userId: input.ownerId,
        resource: AccessResource.Session,
        id: input.sessionId,
        route: '/v1/chat/send',
      });
    }
    const title = input.content.replace(/\s+/g, ' ').trim().slice(0, TITLE_LENGTH);
    const sent = await this.messages.send({
      sessionId,
      ownerId: input.ownerId,
      content: input.content,
      idempotencyKey: input.idempotencyKey,
      createSession: input.sessionId === undefined ? { title } : undefined,
    });
    const reply = await this.waitForReply(sent.reply);
    return { sessionId, message: sent.message, reply, finished: isFinished(reply) };
  }

  /**
   * Subscribes before reading the reply's state, and its finish is published after it committed:
   * whichever comes first, the wait cannot miss it.
   */
  private async waitForReply(pending: MessageEntity): Promise<MessageEntity> {
    const waitMs = this.config.replies.waitMs;
    if (waitMs === 0) {
      return pending;
    }
    let signalled = false;
    let wake: () => void = () => undefined;
    const wakeForShutdown = (): void => wake();
    this.waiting.add(wakeForShutdown);
    const subscription = await this.events
      .subscribe(pending.sessionId, undefined, (event) => {
        if (finishedReplyId(event.type, event.data) === pending.id) {
          signalled = true;
          wake();
        }
      })
      .catch((): StreamSubscription | undefined => undefined);
    try {
      const deadline = Date.now() + waitMs;
      for (;;) {
        signalled = false;
        const reply = (await this.replies.findReply(pending.id)) ?? pending;
        const left = deadline - Date.now();
        if (isFinished(reply) || left <= 0 || this.stopping) {
          return reply;
        }
        if (!signalled) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(POLL_MS, left));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
    } finally {
      this.waiting.delete(wakeForShutdown);
      subscription?.close();
    }
  }
}
