/**
 * Told after a committed write, so that whatever derives from stored rows (the cache's versions)
 * can move on. Repositories call it once their statement or transaction has committed: never from
 * inside a transaction, never before the write is durable. CacheModule provides it (cache/).
 */
export abstract class ChangeNotifier {
  /**
   * A session's messages changed: a send was stored, or a reply changed state or text. With the
   * owner (a message's text became final), what the owner finds by searching changed too.
   */
  abstract historyChanged(sessionId: string, ownerId?: string): Promise<void>;
  /**
   * An owner's sessions changed: one was created, renamed, deleted or written to (and so their
   * search). Covers that session's messages too: one bump of every counter, in one round trip.
   */
  abstract sessionsChanged(ownerId: string, sessionId: string): Promise<void>;
  /**
   * A session was deleted: as sessionsChanged, and the session no longer exists (its ownership,
   * cached across writes, must not be found again).
   */
  abstract sessionDeleted(ownerId: string, sessionId: string): Promise<void>;
  /** An owner's long-term memories changed: one was added or deleted, or all were forgotten. */
  abstract memoriesChanged(ownerId: string): Promise<void>;
  /** An owner's preferences (custom instructions, memory extraction) changed. */
  abstract preferencesChanged(ownerId: string): Promise<void>;
}

/** For tests and tools that build parts of the app without the cache. */
export class NoChangeNotifier extends ChangeNotifier {
  async historyChanged(): Promise<void> {}
  async sessionsChanged(): Promise<void> {}
  async sessionDeleted(): Promise<void> {}
  async memoriesChanged(): Promise<void> {}
  async preferencesChanged(): Promise<void> {}
}
