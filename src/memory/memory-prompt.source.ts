import { Injectable } from '@nestjs/common';
import { MemoryProvider } from '../common/memory-provider.port.js';
import { anyWordQuery } from './memory-search.util.js';
import { MemoryRepository } from './memory.repository.js';

/** A prompt has room for a few memories, not a user's whole history. */
const MAX_PROMPT_MEMORIES = 50;

/**
 * What the reply pipeline puts into a prompt: the owner's memories most relevant to the latest
 * user message (any of its words, English stemming), filled up with their most recent ones.
 * Only ever the owner's own: every query is scoped by `ownerId`.
 */
@Injectable()
export class MemoryPromptSource extends MemoryProvider {
  constructor(private readonly memories: MemoryRepository) {
    super();
  }

  async memoriesFor(ownerId: string, query: string, limit: number): Promise<string[]> {
    const count = Math.min(Math.floor(limit), MAX_PROMPT_MEMORIES);
    if (!(count > 0)) {
      return [];
    }
    const words = anyWordQuery(query);
    const found =
      words === ''
        ? await this.memories.listRecent(ownerId, count)
        : await this.memories.searchOrRecent(ownerId, words, count);
    return found.map((memory) => memory.content);
  }
}
