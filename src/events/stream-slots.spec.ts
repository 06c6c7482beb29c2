import { describe, expect, it } from 'vitest';
import { InProcessStreamSlots } from './stream-slots.js';

describe('InProcessStreamSlots (embedded mode)', () => {
  it('grants max slots per user, refuses the next, and gives a released slot back once', async () => {
    const slots = new InProcessStreamSlots();
    const held = await Promise.all(Array.from({ length: 3 }, () => slots.acquire('alice', 3)));
    expect(held.every((slot) => slot !== null)).toBe(true);
    expect(await slots.acquire('alice', 3)).toBeNull();
    expect(await slots.acquire('bob', 3)).not.toBeNull();
    held[0]?.release();
    held[0]?.release();
    expect(await slots.acquire('alice', 3)).not.toBeNull();
    expect(await slots.acquire('alice', 3)).toBeNull();
  });
});
