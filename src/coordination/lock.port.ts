export interface LockOptions {
  /** How long the lock lives without being extended; it is extended while the work runs. */
  ttlMs: number;
}

/**
 * Proof of holding a lock that the coordination backend checks itself: an event published with
 * it is appended only while the lock is still this holder's, atomically (see EventStream). A
 * holder that stalled past its TTL cannot write into a stream its successor now feeds. Opaque to
 * the work that carries it.
 */
export interface LockFence {
  readonly key: string;
  readonly token: string;
}

/** `fence` is null where no other process can take the lock over (the in-process adapter). */
export type LockedWork<T> = (signal: AbortSignal, fence: LockFence | null) => Promise<T>;

/**
 * `contended`: whether a tryWithLock of the same key was refused while this one held it, as the
 * release found it. False only when the backend knows nobody asked; absent when it cannot tell (the
 * lock was lost, or released without an answer), which a caller treats as asked.
 */
export type LockResult<T> = { acquired: true; value: T; contended?: boolean } | { acquired: false };

/**
 * Mutual exclusion across every process that shares the coordination backend.
 * A lock only avoids wasted work: correctness is fenced by the database (failure F8).
 * The signal aborts when the lock is lost (e.g. the process stalled past the TTL).
 */
export abstract class LockService {
  /** Runs `work` if the lock is free right now; otherwise returns `{ acquired: false }`. */
  abstract tryWithLock<T>(key: string, options: LockOptions, work: LockedWork<T>): Promise<LockResult<T>>;
}

/** The metric label of a lock: its kind (the key's first segment), never the id in it. */
export function lockKind(key: string): string {
  return key.split(':')[0] ?? key;
}
