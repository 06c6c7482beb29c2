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

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
