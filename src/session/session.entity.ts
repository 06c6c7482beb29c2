export const REPLY_MODES = ['each', 'coalesce'] as const;
export type ReplyMode = (typeof REPLY_MODES)[number];

/** A row of `sessions` as the repositories return it; the schema itself is in the migrations. */
export interface SessionEntity {
  id: string;
  ownerId: string;
  title: string | null;
  /** The highest seq handed out in this session; bumped under the row's lock. */
  lastSeq: number;
  messageCount: number;
  replyMode: ReplyMode;
  createdAt: Date;
  updatedAt: Date;
}
