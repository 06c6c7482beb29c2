import { Column, Entity, PrimaryColumn } from 'typeorm';

export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'pending' | 'streaming' | 'complete' | 'failed' | 'stopped' | 'superseded';

/** A reply in one of these never changes again. */
export const TERMINAL_STATUSES: readonly MessageStatus[] = ['complete', 'failed', 'stopped', 'superseded'];

/** An append-only row; `(session_id, seq)` is unique. Replies are updated only under a fence. */
@Entity({ name: 'messages' })
export class MessageEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId: string;

  @Column({ type: 'integer' })
  seq: number;

  @Column({ type: 'varchar', length: 16 })
  role: MessageRole;

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'varchar', length: 16 })
  status: MessageStatus;

  @Column({ name: 'reply_to', type: 'uuid', nullable: true })
  replyTo: string | null;

  /** The message this one follows on its branch (a reply: its user message); null for a root. */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId: string | null;

  @Column({ name: 'client_message_id', type: 'varchar', length: 64, nullable: true })
  clientMessageId: string | null;

  /** Generation attempts; the completing update must name the attempt it belongs to. */
  @Column({ type: 'integer', default: 0 })
  attempt: number;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** A message read as part of a branch, with where it stands among its siblings. */
export interface BranchMessage extends MessageEntity {
  siblingCount: number;
  siblingIndex: number;
}
