import type { Options } from 'autocannon';

export interface SeededUser {
  id: string;
  token: string;
  sessionId: string;
}

export interface BenchContext {
  parleyUrl: string;
  bareUrl: string;
  users: SeededUser[];
  /** Sends made so far by this run, for unique idempotency keys. */
  counter: { next(): number };
}

/** One benchmarked workload: an autocannon request shape against the bare server or Parley. */
export interface Scenario {
  name: string;
  description: string;
  /** `parley-uncached`: a second Parley process, identical but for CACHE_ENABLED=false. */
  target: 'bare' | 'parley' | 'parley-uncached';
  /** Which seeded users it acts as: readers (a 20-message history) or senders (an empty session). */
  users?: 'readers' | 'senders';
  /** Parley settings this scenario needs: it then gets a Parley process of its own. */
  parleyEnv?: Record<string, string>;
  requests(context: BenchContext): NonNullable<Options['requests']>;
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}
