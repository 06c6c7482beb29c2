import { Injectable } from '@nestjs/common';
import type { OwnedResource } from '../access/access.service.js';
import { AppConfig } from '../config/app-config.js';
import { MEMORY_PAGE_SIZE_DEFAULT } from './memory.dto.js';
import type { MemoryEntity } from './memory.entity.js';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import { MemoryRepository } from './memory.repository.js';

@Injectable()
export class MemoryService {
  constructor(
    private readonly memories: MemoryRepository,
    private readonly config: AppConfig,
  ) {}

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

  /** Refused with 409 `too_many_memories` once the owner keeps MAX_MEMORIES_PER_USER. */
  async remember(ownerId: string, content: string): Promise<MemoryEntity> {
    const memory = await this.memories.create(ownerId, content, 'user', this.config.limits.maxMemoriesPerUser);
    if (memory === null) {
      throw new MemoryException(MemoryExceptionCode.TooMany);
    }
    return memory;
  }

  async forget(memory: OwnedResource): Promise<void> {
    if (!(await this.memories.delete(memory.id, memory.ownerId))) {
      throw new MemoryException(MemoryExceptionCode.NotFound);
    }
  }

  async forgetAll(ownerId: string): Promise<void> {
    await this.memories.deleteAllByOwner(ownerId);
  }
}
