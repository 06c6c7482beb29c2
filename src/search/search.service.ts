import { Injectable } from '@nestjs/common';
import { isUuid } from '../common/uuid.util.js';
import { websearchQuery } from '../common/websearch-query.util.js';
import {
  MessageSearchRepository,
  type MessageHit,
  type SearchPosition,
} from '../messages/message-search.repository.js';
import { SEARCH_PAGE_SIZE_DEFAULT } from './search.dto.js';
import { SearchException, SearchExceptionCode } from './search.exception.js';

export interface SearchPage {
  items: MessageHit[];
  nextCursor: string | null;
}

/** JavaScript's last date; a cursor's time is checked against it before any SQL. */
const MAX_CURSOR_TIME = 8_640_000_000_000_000;

export function encodeSearchCursor(hit: SearchPosition): string {
  return Buffer.from(JSON.stringify([hit.rank, hit.createdAt.getTime(), hit.id])).toString('base64url');
}

/** Everything a cursor carries is checked here, before any SQL; anything else is 400 `invalid_cursor`. */
export function decodeSearchCursor(cursor: string): SearchPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new SearchException(SearchExceptionCode.InvalidCursor);
  }
  if (Array.isArray(decoded) && decoded.length === 3) {
    const [rank, time, id] = decoded as [unknown, unknown, unknown];
    if (
      typeof rank === 'number' &&
      Number.isFinite(rank) &&
      rank >= 0 &&
      rank <= 1e30 &&
      typeof time === 'number' &&
      Number.isSafeInteger(time) &&
      time >= 0 &&
      time <= MAX_CURSOR_TIME &&
      isUuid(id)
    ) {
      return { rank, createdAt: new Date(time), id: id.toLowerCase() };
    }
  }
  throw new SearchException(SearchExceptionCode.InvalidCursor);
}

/** Search across all of the caller's sessions: ranked, paged by a keyset cursor. */
@Injectable()
export class SearchService {
  constructor(private readonly messages: MessageSearchRepository) {}

  async search(ownerId: string, query: string, limit = SEARCH_PAGE_SIZE_DEFAULT, cursor?: string): Promise<SearchPage> {
    const after = cursor === undefined ? null : decodeSearchCursor(cursor);
    // Rebuilt from its words: no input can make PostgreSQL refuse the query.
    const tsquery = websearchQuery(query);
    if (tsquery === '') {
      return { items: [], nextCursor: null };
    }
    const rows = await this.messages.search(ownerId, tsquery, limit + 1, after);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeSearchCursor(last) : null };
  }
}
