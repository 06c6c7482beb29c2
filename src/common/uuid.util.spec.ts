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
});
