import { describe, expect, it } from 'vitest';
import { SessionException } from './session.exception.js';
import { decodeCursor, encodeCursor } from './session.service.js';
import type { SessionEntity } from './session.entity.js';

const session = (updatedAt: string, id: string): SessionEntity => ({
  id,
  ownerId: 'alice',
  title: null,
  lastSeq: 0,
  messageCount: 0,
  replyMode: 'each',
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  updatedAt: new Date(updatedAt),
});

const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const ID = '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10';

describe('session list cursors', () => {
  it('round-trips the position of a session (its last activity and id) exactly', () => {
    const s = session('2026-01-02T03:04:05.678Z', ID);
    expect(decodeCursor(encodeCursor(s))).toEqual({ updatedAt: s.updatedAt, id: s.id });
  });

  it('lower-cases the id it carries', () => {
    expect(decodeCursor(cursorOf([1767225600000, ID.toUpperCase()])).id).toBe(ID);
  });

  it.each(['', 'x', 'bm90IGpzb24', cursorOf([1, 2]), cursorOf(['a', 'b'])])(
    'refuses %j with invalid_cursor',
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(SessionException);
    },
  );

  // Cursors that reached PostgreSQL and failed there (22P02, 22007) before they were checked here.
  it.each([
    ['a non-UUID id of UUID length', [1767225600000, 'x'.repeat(36)]],
    ['an id that is not a UUID', [1767225600000, 'not-a-uuid']],
    ['a time past the last date', [Number.MAX_SAFE_INTEGER, ID]],
    ['a time before 1970', [-62_198_755_200_000_000, ID]],
    ['a fractional time', [1.5, ID]],
    ['an extra element', [1767225600000, ID, 1]],
    ['an object', { t: 1767225600000, id: ID }],
  ])('refuses a cursor with %s before any SQL', (_what, value) => {
    expect(() => decodeCursor(cursorOf(value))).toThrow(SessionException);
  });
});
