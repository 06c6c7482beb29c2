import { describe, expect, it } from 'vitest';
import { etagOf, ifNoneMatchHits } from './etag.util.js';

describe('If-None-Match (weak comparison)', () => {
  const etag = etagOf({ items: [] });
  const strong = etag.slice(2);

  it('matches the tag as sent, its strong form, in a list, and *', () => {
    expect(ifNoneMatchHits(etag, etag)).toBe(true);
    expect(ifNoneMatchHits(strong, etag)).toBe(true);
    expect(ifNoneMatchHits(`"other", ${strong}`, etag)).toBe(true);
    expect(ifNoneMatchHits('*', etag)).toBe(true);
  });

  it('does not match another tag, a missing header, or a tag without its quotes', () => {
    expect(ifNoneMatchHits('W/"other"', etag)).toBe(false);
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
    expect(ifNoneMatchHits(strong.slice(1, -1), etag)).toBe(false);
  });
});
