import { Column, Entity, PrimaryColumn } from 'typeorm';

export const REPLY_MODES = ['each', 'coalesce'] as const;
export type ReplyMode = (typeof REPLY_MODES)[number];

@Entity({ name: 'sessions' })
export class SessionEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  title: string | null;

  /** The highest seq handed out in this session; bumped under the row's lock. */
  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq: number;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  @Column({ name: 'reply_mode', type: 'varchar', length: 16, default: 'each' })
  replyMode: ReplyMode;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
