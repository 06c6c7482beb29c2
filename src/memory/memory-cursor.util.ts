import { isUuid } from '../common/uuid.util.js';
import type { MemoryEntity } from './memory.entity.js';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import type { MemoryCursor } from './memory.repository.js';

/** Where the next page starts: after a memory (newest first), or at an offset (ranked search). */
export type MemoryPosition = { after: MemoryCursor } | { offset: number };

/** JavaScript's last date; PostgreSQL's range is wider. */
const MAX_TIME = 8_640_000_000_000_000;
const MAX_OFFSET = 10_000_000;

function encode(value: unknown[]): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function recentCursor(last: MemoryEntity): string {
  return encode(['r', last.createdAt.getTime(), last.id]);
}

export function searchCursor(offset: number): string {
  return encode(['s', offset]);
}

/**
 * Everything a cursor carries is checked before any SQL; a cursor of the other kind (a search
 * cursor without `q`, or the reverse) is refused too. 400 `invalid_cursor` otherwise.
 */
export function decodeMemoryCursor(cursor: string, searching: boolean): MemoryPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new MemoryException(MemoryExceptionCode.InvalidCursor);
  }
  if (Array.isArray(decoded)) {
    const [kind, a, b] = decoded as unknown[];
    if (!searching && kind === 'r' && decoded.length === 3 && isTime(a) && isUuid(b)) {
      return { after: { createdAt: new Date(a), id: b.toLowerCase() } };
    }
    if (
      searching &&
      kind === 's' &&
      decoded.length === 2 &&
      Number.isSafeInteger(a) &&
      (a as number) > 0 &&
      (a as number) <= MAX_OFFSET
    ) {
      return { offset: a as number };
    }
  }
  throw new MemoryException(MemoryExceptionCode.InvalidCursor);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_TIME;
}
