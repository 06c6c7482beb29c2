import type { MessageCore, MessageEntity, MessageRole, MessageStatus } from './message.entity.js';

export interface MessageRow {
  id: string;
  session_id: string;
  owner_id: string;
  seq: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  reply_to: string | null;
  parent_id: string | null;
  client_message_id: string | null;
  attempt: number;
  error_code: string | null;
  error_message: string | null;
  request_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export const MESSAGE_COLUMNS =
  'id, session_id, owner_id, seq, role, content, status, reply_to, parent_id, client_message_id, attempt, ' +
  'error_code, error_message, request_id, created_at, updated_at';

/** MESSAGE_COLUMNS of a query's `messages m`, for statements that join it with other tables. */
export const MESSAGE_COLUMNS_OF_M = MESSAGE_COLUMNS.split(', ')
  .map((column) => `m.${column}`)
  .join(', ');

/** The columns of MessageCore, and a row of them. */
const MESSAGE_CORE_ROW_KEYS = ['id', 'session_id', 'owner_id', 'seq', 'role', 'content', 'parent_id'] as const;
export const MESSAGE_CORE_COLUMNS = MESSAGE_CORE_ROW_KEYS.join(', ');
export type MessageCoreRow = Pick<MessageRow, (typeof MESSAGE_CORE_ROW_KEYS)[number]>;

export function toMessageCore(row: MessageCoreRow): MessageCore {
  return {
    id: row.id,
    sessionId: row.session_id,
    ownerId: row.owner_id,
    seq: row.seq,
    role: row.role,
    content: row.content,
    parentId: row.parent_id,
  };
}

export function toMessage(row: MessageRow): MessageEntity {
  return {
    ...toMessageCore(row),
    status: row.status,
    replyTo: row.reply_to,
    clientMessageId: row.client_message_id,
    attempt: row.attempt,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    requestId: row.request_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What a failed reply tells its reader: its error code and message, or the generic ones. */
export function replyFailure(message: Pick<MessageEntity, 'errorCode' | 'errorMessage'>): {
  code: string;
  message: string;
} {
  return { code: message.errorCode ?? 'failed', message: message.errorMessage ?? 'The reply failed' };
}

/**
 * A reply still to be made (pending or streaming): the predicate of the open-reply indexes
 * (messages_open_replies, messages_open_replies_by_session), which a query must state whole to
 * read them. It names the role so that a write by primary key, which tests an open status but
 * never the role, cannot be planned through those indexes: their statistics are as old as the last
 * VACUUM or ANALYZE and usually say they are nearly empty, while under a backlog they hold thousands
 * of replies that such a plan would scan for one row.
 */
export const OPEN_REPLY = `role = 'assistant' AND status IN ('pending', 'streaming')`;
