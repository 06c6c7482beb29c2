import { Column, Entity, PrimaryColumn } from 'typeorm';

export type MemorySource = 'user' | 'extracted';

/**
 * Something a user asked Parley to remember (`user`) or that was drawn from their conversations
 * (`extracted`). The table also holds `search`, a tsvector PostgreSQL derives from `content`.
 */
@Entity({ name: 'memories' })
export class MemoryEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId: string;

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'varchar', length: 16 })
  source: MemorySource;

  /** Where an extracted memory came from (null when typed, or once that session is deleted). */
  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId: string | null;

  @Column({ name: 'message_id', type: 'uuid', nullable: true })
  messageId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
