import type { Options, Result } from 'autocannon';
import type { Sample } from '../test/support/prometheus.js';
import type { TestDatabase } from '../test/support/services.js';
import type { Server } from './processes.js';

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

/** One line of the report; scenarios that compare several things add columns of their own. */
export type Row = Record<string, string | number | null>;

/** A process's CPU time (all its threads) and the requests it answered, so far. */
export interface CpuTally {
  cpuSeconds: number;
  requests: number;
}

export interface CacheTally extends CpuTally {
  hits: number;
  misses: number;
  /** Replies the process completed (parley_replies_total{outcome="complete"}). */
  repliesCompleted: number;
  /** The process's garbage collections so far (gcSummary). */
  gc: GcTally;
}

/** Garbage collections, young (minor) and full (major): how many, and their pauses in seconds. */
export interface GcTally {
  minor: number;
  minorSeconds: number;
  major: number;
  majorSeconds: number;
}

/** What a scenario that runs its own measurements (`run`) gets from the bench. */
export interface BenchHarness {
  db: TestDatabase;
  /** The Redis key prefix of this run (the bare server's keys live under it). */
  prefix: string;
  bare: Server;
  /** The run's Parley process (cached reads: the readers' pages are in its memory). */
  parley: Server;
  seeded: { readers: SeededUser[]; senders: SeededUser[]; conversers: SeededUser[] };
  context: BenchContext;
  /** Parley's environment for this run, as its processes get it. */
  env: Record<string, string>;
  durationS: number;
  connections: number;
  rounds: number;
  /**
   * A Parley process of the scenario's own (its own queue), with extra settings, with `nodeFlags`
   * instead of the image's Node flags when given, and from another build's entry point `main`
   * (instead of this checkout's dist/main.js) when given; stopped after the scenario.
   */
  startParley(extraEnv?: Record<string, string>, nodeFlags?: readonly string[], main?: string): Promise<Server>;
  /** One autocannon run; `onResponse` is told the latency of each response as it arrives. */
  measure(
    url: string,
    requests: NonNullable<Options['requests']>,
    options?: Partial<Options>,
    onResponse?: (latencyMs: number) => void,
  ): Promise<Result>;
  /** A Parley process's metrics, parsed. */
  metrics(url: string): Promise<Sample[]>;
  cacheTally(url: string): Promise<CacheTally>;
  hitRate(before: CacheTally, after: CacheTally): number | null;
  /** Microseconds of a process's CPU per request it answered between two tallies. */
  cpuPerRequest(before: CpuTally, after: CpuTally): number | null;
  /** Waits until the process's reply queue is empty. */
  drained(url: string): Promise<void>;
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
  /** Runs only when named (`npm run bench -- <name>`): it needs settings of its own. */
  onlyWhenNamed?: boolean;
  requests(context: BenchContext): NonNullable<Options['requests']>;
  /**
   * Scenarios that compare things alternated within one run (or need their own processes) measure
   * themselves and return their rows; `requests` is then unused.
   */
  run?(harness: BenchHarness): Promise<Row[]>;
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * A process's garbage collections between two tallies (`before` omitted: since it started): young
 * ones (how many, their mean pause) and full ones, and, given the seconds between the tallies, the
 * share of them its main thread spent paused in either.
 */
export function gcSummary(before: GcTally | undefined, after: GcTally, seconds?: number): Row {
  const since = (field: keyof GcTally): number => after[field] - (before?.[field] ?? 0);
  const minor = since('minor');
  const paused = since('minorSeconds') + since('majorSeconds');
  return {
    minorGcs: minor,
    minorGcMeanMs: minor === 0 ? null : round((since('minorSeconds') / minor) * 1000, 2),
    majorGcs: since('major'),
    ...(seconds === undefined ? {} : { gcPausedPct: seconds > 0 ? round((paused / seconds) * 100, 1) : null }),
  };
}

/** Share of requests answered 2xx, counting errors and timeouts as failures. */
export function successRate(result: Result): number {
  const answered = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  const total = answered + result.errors;
  return total === 0 ? 0 : result['2xx'] / total;
}

/** The summary figures of one autocannon run. */
export function summary(result: Result): Row {
  return {
    requestsPerSecond: Math.round(result.requests.average),
    successPct: round(successRate(result) * 100, 3),
    avgMs: round(result.latency.average, 1),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
