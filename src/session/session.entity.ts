/** A row of `sessions` as the repositories return it; the schema itself is in the migrations. */
export interface SessionEntity {
  id: string;
  ownerId: string;
  title: string | null;
  /** The highest seq handed out in this session; bumped under the row's lock. */
  lastSeq: number;
  messageCount: number;
  createdAt: Date;
  updatedAt: Date;
}
