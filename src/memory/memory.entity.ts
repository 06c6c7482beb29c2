export type MemorySource = 'user' | 'extracted';

/**
 * Something a user asked Parley to remember (`user`) or that was drawn from their conversations
 * (`extracted`). The table also holds `search`, a tsvector PostgreSQL derives from `content`.
 * A row of `memories` as the repositories return it; the schema itself is in the migrations.
 */
export interface MemoryEntity {
  id: string;
  ownerId: string;
  content: string;
  source: MemorySource;
  /** Where an extracted memory came from (null when typed, or once that session is deleted). */
  sessionId: string | null;
  messageId: string | null;
  createdAt: Date;
}
