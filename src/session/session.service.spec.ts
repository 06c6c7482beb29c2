import { describe, expect, it } from 'vitest';
import { SessionException } from './session.exception.js';
import { decodeCursor, encodeCursor } from './session.service.js';
import type { SessionEntity } from './session.entity.js';

const session = (createdAt: string, id: string): SessionEntity => ({
  id,
  ownerId: 'alice',
  title: null,
  lastSeq: 0,
  messageCount: 0,
  createdAt: new Date(createdAt),
  updatedAt: new Date(createdAt),
});

describe('session list cursors', () => {
  it('round-trips the position of a session exactly', () => {
    const s = session('2026-01-02T03:04:05.678Z', '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10');
    expect(decodeCursor(encodeCursor(s))).toEqual({ createdAt: s.createdAt, id: s.id });
  });

  it.each(['', 'x', 'bm90IGpzb24', Buffer.from('[1,2]').toString('base64url'), Buffer.from('["a","b"]').toString('base64url')])(
    'refuses %j with invalid_cursor',
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(SessionException);
    },
  );
});
