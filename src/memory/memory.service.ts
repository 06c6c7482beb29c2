import { Injectable } from '@nestjs/common';
import type { OwnedResource } from '../access/access.service.js';
import { AppConfig } from '../config/app-config.js';
import { decodeMemoryCursor, recentCursor, searchCursor } from './memory-cursor.util.js';
import { websearchQuery } from '../common/websearch-query.util.js';
import { MEMORY_PAGE_SIZE_DEFAULT } from './memory.dto.js';
import type { MemoryEntity } from './memory.entity.js';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import { MemoryRepository } from './memory.repository.js';

export interface MemoryPage {
  items: MemoryEntity[];
  nextCursor: string | null;
}

/** `rows` holds one more than a page when there is more. */
function page(rows: MemoryEntity[], limit: number, next: (last: MemoryEntity) => string): MemoryPage {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? next(last) : null };
}

@Injectable()
export class MemoryService {
  constructor(
    private readonly memories: MemoryRepository,
    private readonly config: AppConfig,
  ) {}

  /**
   * With a non-blank query: the owner's matches, most relevant first; otherwise the newest. Pages
   * continue with `nextCursor`. A query with nothing searchable left in it matches nothing.
   */
  async list(
    ownerId: string,
    query: string | undefined,
    limit = MEMORY_PAGE_SIZE_DEFAULT,
    cursor?: string,
  ): Promise<MemoryPage> {
    const text = query?.trim() ?? '';
    const searching = text !== '';
    const position = cursor === undefined ? undefined : decodeMemoryCursor(cursor, searching);
    if (!searching) {
      const rows = await this.memories.listRecent(
        ownerId,
        limit + 1,
        position && 'after' in position ? position.after : null,
      );
      return page(rows, limit, (last) => recentCursor(last));
    }
    const tsquery = websearchQuery(text);
    if (tsquery === '') {
      return { items: [], nextCursor: null };
    }
    const offset = position && 'offset' in position ? position.offset : 0;
    const rows = await this.memories.search(ownerId, tsquery, limit + 1, offset);
    return page(rows, limit, () => searchCursor(offset + limit));
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
