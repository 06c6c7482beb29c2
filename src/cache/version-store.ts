import { randomInt } from 'node:crypto';
import type { VersionCounter } from './cache-key.builder.js';

/**
 * Where the current version of each counter lives. A version read before a database query names
 * the data that query returns; a write bumps it after commit, so every request that starts after
 * the write's answer reads a newer version and cannot find an entry filled before it.
 */
export abstract class VersionStore {
  /** The current versions, or null when they cannot be verified right now (the cache steps aside). */
  abstract read(counters: readonly VersionCounter[]): Promise<string[] | null>;
  /**
   * The current versions if every counter exists already, read without writing anything; 'missing'
   * when one does not (read() creates it), null as for read().
   */
  peek(counters: readonly VersionCounter[]): Promise<string[] | null | 'missing'> {
    return this.read(counters);
  }
  /**
   * A peek whose keys another Redis command of the request reads for it (see RidingRead), on a
   * store in Redis; null when it cannot be trusted right now (peek() answers then).
   */
  planPeek?(counters: readonly VersionCounter[]): RidingRead<string[] | null | 'missing'> | null;
  /** Moves the counters on; never throws (a failed bump makes the store distrust itself until repaired). */
  abstract bump(counters: readonly VersionCounter[]): Promise<void>;
}

/**
 * A read of some Redis keys done by another command of the same request (the rate limit's), so
 * that both take one command and one round trip: `keys` are what it reads, and `settle` turns
 * what it found into the result (undefined: it could not read them, and the read is made apart).
 */
export interface RidingRead<T> {
  readonly keys: readonly string[];
  /** At once when the values are given; a promise when it has to read them itself. */
  settle(values: ReadonlyArray<string | null> | undefined): T | Promise<T>;
}

/**
 * A fresh counter starts at a random value, never at 1: a counter that vanished (Redis restarted
 * empty, or evicted the key) must not come back at a value that entries filled earlier still carry.
 */
export function randomVersionBase(): number {
  return randomInt(1, 2 ** 47);
}
