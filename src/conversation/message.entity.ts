/*
 * The conversation's rows, shared by the messages module (the API and the send transaction) and the
 * replies module (the pipeline that answers): both read and write `messages`, each with its own
 * queries, so the row type and its mapper sit below both.
 */
export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'pending' | 'streaming' | 'complete' | 'failed' | 'stopped' | 'superseded';

/** A reply in one of these never changes again. */
export const TERMINAL_STATUSES: readonly MessageStatus[] = ['complete', 'failed', 'stopped', 'superseded'];

/**
 * A row of `messages` as the repositories return it (the schema itself is in the migrations): an
 * append-only row; `(session_id, seq)` is unique. Replies are updated only under a fence.
 */
export interface MessageEntity {
  id: string;
  sessionId: string;
  ownerId: string;
  seq: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  replyTo: string | null;
  /** The message this one follows on its branch (a reply: its user message); null for a root. */
  parentId: string | null;
  clientMessageId: string | null;
  /** Generation attempts; the completing update must name the attempt it belongs to. */
  attempt: number;
  errorCode: string | null;
  errorMessage: string | null;
  requestId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What a message is and where it stands in its branch, without its state: all that a reader of many
 * messages at once needs (a prompt reads up to 500), with no timestamp for pg to parse.
 */
export type MessageCore = Pick<MessageEntity, 'id' | 'sessionId' | 'ownerId' | 'seq' | 'role' | 'content' | 'parentId'>;

/** A message read as part of a branch, with where it stands among its siblings. */
export interface BranchMessage extends MessageEntity {
  siblingCount: number;
  siblingIndex: number;
}
