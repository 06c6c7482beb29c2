import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { lockKind, LockService, type LockedWork, type LockOptions, type LockResult } from './lock.port.js';

/** Locks of one process (embedded mode only: production refuses to run with them). */
@Injectable()
export class InProcessLockService extends LockService {
  private readonly held = new Set<string>();
  /** Held keys that a tryWithLock was refused for meanwhile. */
  private readonly wanted = new Set<string>();

  constructor(private readonly metrics: MetricsService) {
    super();
  }

  async tryWithLock<T>(key: string, _options: LockOptions, work: LockedWork<T>): Promise<LockResult<T>> {
    const busy = this.held.has(key);
    this.metrics.lockAcquisitions.inc({ lock: lockKind(key), result: busy ? 'busy' : 'acquired' });
    if (busy) {
      this.wanted.add(key);
      return { acquired: false };
    }
    this.held.add(key);
    let value: T;
    let contended: boolean;
    try {
      value = await work(new AbortController().signal, null);
    } finally {
      this.held.delete(key);
      contended = this.wanted.delete(key);
    }
    return { acquired: true, value, contended };
  }
}
