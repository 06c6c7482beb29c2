import { Injectable } from '@nestjs/common';
import { MEMORY_PAGE_SIZE_DEFAULT } from './memory.dto.js';
import type { MemoryEntity } from './memory.entity.js';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import { MemoryRepository } from './memory.repository.js';

@Injectable()
export class MemoryService {
  constructor(private readonly memories: MemoryRepository) {}

  /** With a non-blank query: the owner's matches, most relevant first; otherwise the newest. */
  list(
    ownerId: string,
    query: string | undefined,
    limit = MEMORY_PAGE_SIZE_DEFAULT,
  ): Promise<MemoryEntity[]> {
    const text = query?.trim() ?? '';
    return text === ''
      ? this.memories.listRecent(ownerId, limit)
      : this.memories.search(ownerId, text, limit);
  }

  remember(ownerId: string, content: string): Promise<MemoryEntity> {
    return this.memories.create(ownerId, content, 'user');
  }

  async forget(memory: MemoryEntity): Promise<void> {
    if (!(await this.memories.delete(memory.id, memory.ownerId))) {
      throw new MemoryException(MemoryExceptionCode.NotFound);
    }
  }

  async forgetAll(ownerId: string): Promise<void> {
    await this.memories.deleteAllByOwner(ownerId);
  }
}
