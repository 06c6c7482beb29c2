import { createHash } from 'node:crypto';

/** Parley's namespace for name-based session ids (RFC 9562 UUID version 5). */
const NAMESPACE = Buffer.from('6f1c9a2e4b7d4e0f8a3c5d2b1e9f7a60', 'hex');

/**
 * The id of the session that `POST /v1/chat/send` creates for a send without a session but with
 * an idempotency key: the same owner and key always name the same session, so a retry finds the
 * session and, in it, the send it repeats (the original, or 422 for a different body), on any
 * replica. Only its owner can use it; another user gets 403 like for any id.
 */
export function sessionIdForKey(ownerId: string, idempotencyKey: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${ownerId}\u0000${idempotencyKey}`).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
