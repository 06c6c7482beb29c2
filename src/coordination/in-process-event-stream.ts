import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import {
  compareEventIds,
  EventStream,
  FencedOutError,
  FROM_THE_START,
  missedEvent,
  OrderedDelivery,
  TranscriptClosedError,
  type PublishOptions,
  type StreamEvent,
  type StreamListener,
  type StreamSubscription,
} from './event-stream.port.js';

interface Transcript {
  attempt: number;
  text: string;
  closed: boolean;
  expiresAt: number;
}

interface RetainedStream {
  events: StreamEvent[];
  /** Ids up to this one are not retained: trimmed away, or issued before this stream was (re)made. */
  floorId: string;
  /** Whether the length bound removed events (what a resume from `0-0` would miss). */
  trimmed: boolean;
  expiresAt: number;
  deliveries: Set<OrderedDelivery>;
}

/** Event streams inside this process (embedded mode): same contract as the Redis one, one process only. */
@Injectable()
export class InProcessEventStream extends EventStream {
  private readonly streams = new Map<string, RetainedStream>();
  private readonly transcripts = new Map<string, Transcript>();
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly config: AppConfig) {
    super();
  }

  /** One process: no lock can be taken over, so there is no fence to check. */
  async publish(streamKey: string, type: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    if (options.transcript !== undefined) {
      this.extendTranscript(options.transcript.key, options.transcript.attempt, options.transcript.text);
    }
    const stream = this.stream(streamKey);
    const event: StreamEvent = { id: this.nextId(), type, data };
    stream.events.push(event);
    if (stream.events.length > this.config.events.streamMaxLength) {
      stream.floorId = stream.events.shift()?.id ?? stream.floorId;
      stream.trimmed = true;
    }
    stream.expiresAt = Date.now() + this.config.events.streamTtlMs;
    for (const delivery of stream.deliveries) {
      delivery.offer(event);
    }
    return event.id;
  }

  async closeTranscript(key: string): Promise<string> {
    const transcript = this.transcript(key);
    transcript.closed = true;
    return transcript.text;
  }

  /** Synchronous with the append that follows it, as the Redis script is atomic. */
  private extendTranscript(key: string, attempt: number, text: string): void {
    const transcript = this.transcript(key);
    if (transcript.closed) {
      throw new TranscriptClosedError(key);
    }
    if (attempt < transcript.attempt) {
      throw new FencedOutError(key);
    }
    transcript.text = attempt === transcript.attempt ? transcript.text + text : text;
    transcript.attempt = attempt;
  }

  private transcript(key: string): Transcript {
    const now = Date.now();
    let transcript = this.transcripts.get(key);
    if (transcript === undefined || transcript.expiresAt < now) {
      for (const [other, kept] of this.transcripts) {
        if (kept.expiresAt < now) {
          this.transcripts.delete(other);
        }
      }
      transcript = { attempt: 0, text: '', closed: false, expiresAt: 0 };
      this.transcripts.set(key, transcript);
    }
    transcript.expiresAt = now + this.config.events.streamTtlMs;
    return transcript;
  }

  async subscribe(
    streamKey: string,
    afterId: string | undefined,
    listener: StreamListener,
  ): Promise<StreamSubscription> {
    const stream = this.stream(streamKey);
    const start = afterId ?? stream.events.at(-1)?.id ?? '0-0';
    const delivery = new OrderedDelivery(start, listener);
    stream.deliveries.add(delivery);
    const missed =
      afterId === FROM_THE_START
        ? stream.trimmed
        : afterId !== undefined && compareEventIds(afterId, stream.floorId) < 0;
    if (afterId !== undefined && missed) {
      listener(missedEvent(afterId));
    }
    delivery.release(afterId === undefined ? [] : stream.events);
    return {
      close: () => {
        stream.deliveries.delete(delivery);
      },
    };
  }

  private stream(streamKey: string): RetainedStream {
    const now = Date.now();
    let stream = this.streams.get(streamKey);
    if (stream === undefined || (stream.expiresAt < now && stream.deliveries.size === 0)) {
      // Every event of this stream will have an id at or after this one; older ids are another's.
      const floorId = `${Math.max(now, this.lastMs)}-0`;
      stream = {
        events: [],
        floorId,
        trimmed: false,
        expiresAt: now + this.config.events.streamTtlMs,
        deliveries: new Set(),
      };
      this.streams.set(streamKey, stream);
      this.sweep(now);
    }
    return stream;
  }

  /** Expired streams with nobody listening are dropped when a new stream is made. */
  private sweep(now: number): void {
    for (const [key, stream] of this.streams) {
      if (stream.expiresAt < now && stream.deliveries.size === 0) {
        this.streams.delete(key);
      }
    }
  }

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq += 1;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }
}
