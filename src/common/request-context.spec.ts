import { describe, expect, it } from 'vitest';
import { isValidRequestId, requestIdFrom } from './request-context.js';

describe('request ids', () => {
  it('keeps a valid incoming X-Request-Id', () => {
    expect(requestIdFrom('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(requestIdFrom('a'.repeat(128))).toBe('a'.repeat(128));
  });

  it.each([undefined, '', 'a'.repeat(129), 'has space', 'semi;colon', 'new\nline', ['a', 'b']])(
    'replaces %j',
    (header) => {
      const id = requestIdFrom(header);
      expect(isValidRequestId(id)).toBe(true);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    },
  );
});
