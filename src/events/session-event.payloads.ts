import { replyFailure } from '../conversation/message.mapper.js';
/** The events of a session's stream, by name (the `event:` line of SSE). */
export const SessionEventType = {
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

/** What events read from a stored message (a messages row: MessageEntity has all of it). */
export interface StoredMessage {
  id: string;
  sessionId: string;
  seq: number;
  role: 'user' | 'assistant';
  content: string;
  /** pending, streaming, then one of the terminal statuses (complete, failed, …). */
  status: string;
  replyTo: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A message as events carry it: the same fields as the REST API's message. */
export interface MessagePayload {
  id: string;
  sessionId: string;
  seq: number;
  role: StoredMessage['role'];
  content: string;
  status: StoredMessage['status'];
  replyTo: string | null;
  createdAt: string;
  updatedAt: string;
  error?: { code: string; message: string };
}

export interface MessageCreatedPayload {
  message: MessagePayload;
  reply: MessagePayload;
}

export interface ReplyDeltaPayload {
  messageId: string;
  delta: string;
  attempt: number;
}

export interface ReplyCompletedPayload {
  message: MessagePayload;
}

export interface ReplyFailedPayload {
  messageId: string;
  code: string;
  reason: string;
}

export interface ReplyCreatedPayload {
  reply: MessagePayload;
}

export interface ReplyStoppedPayload {
  message: MessagePayload;
}

export interface ReplySupersededPayload {
  messageId: string;
}

export function toMessagePayload(message: StoredMessage): MessagePayload {
  return {
    id: message.id,
    sessionId: message.sessionId,
    seq: message.seq,
    role: message.role,
    content: message.content,
    status: message.status,
    replyTo: message.replyTo,
    createdAt: message.createdAt.toISOString(),
    updatedAt: message.updatedAt.toISOString(),
    ...(message.status === 'failed' ? { error: replyFailure(message) } : {}),
  };
}

/** The reply an event finished (completed, failed, stopped or superseded), if it is one of those. */
export function finishedReplyId(type: string, data: unknown): string | undefined {
  if (type === SessionEventType.ReplyCompleted || type === SessionEventType.ReplyStopped) {
    return (data as Partial<ReplyCompletedPayload> | null)?.message?.id;
  }
  return type === SessionEventType.ReplyFailed || type === SessionEventType.ReplySuperseded
    ? (data as Partial<ReplyFailedPayload> | null)?.messageId
    : undefined;
}
