/**
 * What the reply pipeline asks for long-term memories when it builds a prompt: the memory module
 * provides the real one. Memories come back most relevant first; the pipeline keeps as many as
 * its token budget allows.
 */
export abstract class MemoryProvider {
  /** Memories of `ownerId` relevant to `query` (the message being answered), at most `limit`. */
  abstract memoriesFor(ownerId: string, query: string, limit: number): Promise<string[]>;
}
