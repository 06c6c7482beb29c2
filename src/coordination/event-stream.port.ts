import type { LockFence } from './lock.port.js';

/** One event of a session's stream. `id` orders events and is what a client resumes after. */
export interface StreamEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

export type StreamListener = (event: StreamEvent) => void;

export interface PublishOptions {
  /** false skips renewing the stream's TTL, for frequent events (token deltas) that always sit between two events that renew it. */
  readonly extendTtl?: boolean;
  /** Append only while this lock is still held (checked atomically with the append). */
  readonly fence?: LockFence | null;
  /**
   * The event is part of a transcript (a reply's streamed text): append `text` to it with the event,
   * atomically, unless the transcript is closed (TranscriptClosedError; nothing appended). A higher
   * attempt starts the text afresh; a lower one is refused like a lost fence.
   */
  readonly transcript?: TranscriptPart;
}

export interface TranscriptPart {
  readonly key: string;
  readonly attempt: number;
  readonly text: string;
}

/** The event belongs to a transcript that was closed: it was not appended. */
export class TranscriptClosedError extends Error {
  constructor(key: string) {
    super(`not appended: transcript ${key} is closed`);
    this.name = 'TranscriptClosedError';
  }
}

/** An event fenced by a lock its publisher no longer holds: it was not appended. */
export class FencedOutError extends Error {
  constructor(streamKey: string) {
    super(`not appended to ${streamKey}: the publisher no longer holds the lock that fences it`);
    this.name = 'FencedOutError';
  }
}

export interface StreamSubscription {
  close(): void;
}

/**
 * Per-session event streams, bounded in length and time. Publishers on any process reach
 * subscribers on every process. Delivery to one subscriber is in id order with no duplicates;
 * events older than the bound are gone (the database remains the record).
 */
export abstract class EventStream {
  /** Appends an event; returns its id. Throws FencedOutError when its fence no longer holds. */
  abstract publish(streamKey: string, type: string, data: unknown, options?: PublishOptions): Promise<string>;
  /**
   * Delivers the events after `afterId` (when given, from the retained backlog; preceded by an
   * `events.missed` event when some of them are no longer retained), then every new one until closed. Without `afterId`, from about the moment of subscribing: every event
   * published after it, and possibly a few published just before.
   */
  abstract subscribe(
    streamKey: string,
    afterId: string | undefined,
    listener: StreamListener,
  ): Promise<StreamSubscription>;
  /**
   * Closes a transcript and returns its text: exactly what the events appended with it carried (of
   * its latest attempt). Once this returns, no event of the transcript can be appended. Idempotent.
   */
  abstract closeTranscript(key: string): Promise<string>;
}

/**
 * Sent first on a resume when events after the client's Last-Event-ID are no longer retained
 * (trimmed past EVENT_STREAM_MAX_LENGTH, expired, or lost with Redis): the client reloads the
 * history, which the database keeps whole. It carries the client's own id, so it moves nothing.
 */
export const EVENTS_MISSED = 'events.missed';
/** The Last-Event-ID of a client that wants every event from the first one. */
export const FROM_THE_START = '0-0';

export function missedEvent(afterId: string): StreamEvent {
  return { id: afterId, type: EVENTS_MISSED, data: { lastEventId: afterId } };
}

export const EVENT_ID = /^(\d{1,15})-(\d{1,15})$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

/** Compares two `<ms>-<seq>` ids (the Redis stream id format, used by both adapters). */
export function compareEventIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/**
 * One subscriber's cursor: passes on only events after the last one it passed on, and holds back
 * live events while the backlog is being read, so a resume neither skips nor repeats.
 */
export class OrderedDelivery {
  private held: StreamEvent[] | null = [];

  constructor(
    private lastId: string,
    private readonly listener: StreamListener,
  ) {}

  offer(event: StreamEvent): void {
    if (this.held !== null) {
      this.held.push(event);
      return;
    }
    this.deliver(event);
  }

  /** Delivers the backlog, then whatever arrived meanwhile, and goes live. */
  release(backlog: readonly StreamEvent[]): void {
    const held = this.held ?? [];
    this.held = null;
    for (const event of [...backlog, ...held]) {
      this.deliver(event);
    }
  }

  private deliver(event: StreamEvent): void {
    if (compareEventIds(event.id, this.lastId) > 0) {
      this.lastId = event.id;
      this.listener(event);
    }
  }
}
