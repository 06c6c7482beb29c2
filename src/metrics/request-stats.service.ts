import { Injectable } from '@nestjs/common';

const WINDOW_SECONDS = 60;
/** Log-scale latency buckets from 0.5 ms growing by 15 %: percentiles within 15 %, in fixed memory. */
const BUCKET_BASE_MS = 0.5;
const BUCKET_GROWTH = 1.15;
const BUCKETS = 100;

interface Second {
  at: number;
  count: number;
  totalMs: number;
  histogram: Uint32Array;
}

export interface RequestStats {
  requestsPerSecond: number;
  avgResponseTime: number;
  p95ResponseTime: number;
  p99ResponseTime: number;
  totalRequests: number;
}

function bucketOf(durationMs: number): number {
  if (durationMs <= BUCKET_BASE_MS) {
    return 0;
  }
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(durationMs / BUCKET_BASE_MS) / Math.log(BUCKET_GROWTH)));
}

const upperBoundMs = (bucket: number): number => BUCKET_BASE_MS * BUCKET_GROWTH ** bucket;

/** Request rate and latency percentiles of this process over the last 60 s (a ring of seconds). */
@Injectable()
export class RequestStatsService {
  private readonly ring: Second[] = Array.from({ length: WINDOW_SECONDS }, () => ({
    at: -1,
    count: 0,
    totalMs: 0,
    histogram: new Uint32Array(BUCKETS),
  }));

  record(durationMs: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const slot = this.ring[second % WINDOW_SECONDS] as Second;
    if (slot.at !== second) {
      slot.at = second;
      slot.count = 0;
      slot.totalMs = 0;
      slot.histogram.fill(0);
    }
    slot.count += 1;
    slot.totalMs += durationMs;
    const bucket = bucketOf(durationMs);
    slot.histogram[bucket] = (slot.histogram[bucket] ?? 0) + 1;
  }

  snapshot(now = Date.now()): RequestStats {
    const current = Math.floor(now / 1000);
    const merged = new Uint32Array(BUCKETS);
    let count = 0;
    let totalMs = 0;
    for (const slot of this.ring) {
      if (slot.at > current - WINDOW_SECONDS && slot.at <= current) {
        count += slot.count;
        totalMs += slot.totalMs;
        slot.histogram.forEach((n, i) => (merged[i] = (merged[i] ?? 0) + n));
      }
    }
    const percentile = (p: number): number => {
      let seen = 0;
      for (let i = 0; i < BUCKETS; i += 1) {
        seen += merged[i] ?? 0;
        if (seen >= p * count) {
          return Math.round(upperBoundMs(i) * 10) / 10;
        }
      }
      return 0;
    };
    return {
      requestsPerSecond: Math.round((count / WINDOW_SECONDS) * 100) / 100,
      avgResponseTime: count === 0 ? 0 : Math.round((totalMs / count) * 10) / 10,
      p95ResponseTime: count === 0 ? 0 : percentile(0.95),
      p99ResponseTime: count === 0 ? 0 : percentile(0.99),
      totalRequests: count,
    };
  }
}
