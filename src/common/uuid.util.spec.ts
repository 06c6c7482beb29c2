import { describe, expect, it } from 'vitest';
import { isUuid, normaliseId } from './uuid.util.js';

describe('isUuid', () => {
  const id = '0b7f3c1e-5d2a-4f8b-9c3d-2e1f0a9b8c7d';

  it('answers the same for an id it has just accepted, and refuses what follows it that is not one', () => {
    expect(isUuid(id)).toBe(true);
    expect(isUuid(id)).toBe(true);
    expect(isUuid(`${id}x`)).toBe(false);
    expect(isUuid(id.slice(0, -1))).toBe(false);
    expect(isUuid('')).toBe(false);
    expect(isUuid(undefined)).toBe(false);
    expect(isUuid(42)).toBe(false);
    expect(isUuid(id)).toBe(true);
  });

  it('accepts an id in any case and normalises it to lower case; leaves anything else unchanged', () => {
    expect(isUuid(id.toUpperCase())).toBe(true);
    expect(normaliseId(id.toUpperCase())).toBe(id);
    expect(normaliseId(id)).toBe(id);
    expect(normaliseId('not-a-uuid')).toBe('not-a-uuid');
    expect(isUuid('0b7f3c1e-5d2a-0f8b-9c3d-2e1f0a9b8c7d')).toBe(false);
  });

  it('normalises the same in any order of calls: ids in either case, repeated, between non-ids', () => {
    const other = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    const calls = [id, id.toUpperCase(), id.toUpperCase(), id, other.toUpperCase(), 'x', '', id, 42, other];
    for (const value of [...calls, ...calls.reverse()]) {
      expect(normaliseId(value)).toBe(typeof value === 'string' && isUuid(value) ? value.toLowerCase() : value);
    }
    expect(normaliseId('Ab')).toBe('Ab');
    expect(normaliseId(id.replace('b', 'B'))).toBe(id);
  });
});
