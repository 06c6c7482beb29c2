import { LRUCache } from 'lru-cache';
import type { VersionCounter } from './cache-key.builder.js';
import { randomVersionBase, VersionStore } from './version-store.js';

const MAX_COUNTERS = 200_000;

/**
 * Versions of a single process (embedded mode, where one process is the whole deployment). A
 * counter pushed out of this bounded table restarts at a random value, which no entry carries.
 */
export class LocalVersionStore extends VersionStore {
  private readonly counters = new LRUCache<string, number>({ max: MAX_COUNTERS });

  async read(counters: readonly VersionCounter[]): Promise<string[]> {
    return counters.map((counter) => String(this.current(counter)));
  }

  async bump(counters: readonly VersionCounter[]): Promise<void> {
    for (const counter of counters) {
      this.counters.set(this.name(counter), this.current(counter) + 1);
    }
  }

  private current(counter: VersionCounter): number {
    const name = this.name(counter);
    let value = this.counters.get(name);
    if (value === undefined) {
      value = randomVersionBase();
      this.counters.set(name, value);
    }
    return value;
  }

  private name(counter: VersionCounter): string {
    return `${counter.scope}\u0000${counter.id}`;
  }
}
