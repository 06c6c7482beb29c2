import { createHash } from 'node:crypto';

/** A weak entity tag derived from the body: a hash of its JSON. */
export function etagOf(body: unknown): string {
  return etagOfJson(JSON.stringify(body));
}

/** The same tag from the JSON itself, as a string or as its UTF-8 bytes (both hash alike). */
export function etagOfJson(json: string | Buffer): string {
  return `W/"${createHash('sha1').update(json).digest('base64url')}"`;
}

/** An entity tag without its weakness marker: `W/"x"` and `"x"` are the same tag to a weak comparison. */
function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** If-None-Match uses the weak comparison (RFC 9110, 13.1.2): a strong copy of a weak tag matches. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) {
    return false;
  }
  const wanted = opaque(etag);
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || opaque(tag) === wanted;
  });
}
