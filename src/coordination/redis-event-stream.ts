import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { RedisService } from '../redis/redis.service.js';
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
  type TranscriptPart,
  type StreamListener,
  type StreamSubscription,
} from './event-stream.port.js';
import { redisScript } from '../redis/redis-script.js';

interface WatchedStream {
  /** The id of the last entry the reader has seen: the next XREAD continues after it. */
  cursor: string;
  deliveries: Set<OrderedDelivery>;
}

type XEntry = [id: string, fields: string[]];
type XReadReply = Array<[key: string, entries: XEntry[]]> | null;

/**
 * XADD only while KEYS[2] (a lock) still holds ARGV[1] (its holder's token); nil otherwise.
 * ARGV: token, max length, type, data, TTL in ms (0: keep the stream's TTL).
 */
const FENCED_XADD = redisScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'type', ARGV[3], 'data', ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return id`);

/**
 * XADD of an event that belongs to a transcript (KEYS[2], a hash: attempt, text, closed), with the
 * transcript's text extended in the same step, so the text is exactly what the appended events
 * carried. KEYS[3] is the fencing lock when ARGV[1] (its token) is not empty.
 * ARGV: token, max length, type, data, stream TTL in ms (0: keep), attempt, text, transcript TTL in ms.
 * Returns {0} fenced out, {1} transcript closed, {2, id} appended.
 */
const TRANSCRIPT_XADD = redisScript(`
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then return {0} end
if redis.call('HEXISTS', KEYS[2], 'closed') == 1 then return {1} end
local attempt = tonumber(ARGV[6])
local current = tonumber(redis.call('HGET', KEYS[2], 'attempt') or '0')
if attempt < current then return {0} end
local text = ARGV[7]
if attempt == current then text = (redis.call('HGET', KEYS[2], 'text') or '') .. text end
redis.call('HSET', KEYS[2], 'attempt', attempt, 'text', text)
redis.call('PEXPIRE', KEYS[2], ARGV[8])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'type', ARGV[3], 'data', ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return {2, id}`);

/** Marks a transcript closed and returns its text. ARGV: TTL in ms. */
const CLOSE_TRANSCRIPT = redisScript(`
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HGET', KEYS[1], 'text') or ''`);

const BLOCK_MS = 2000;
const READ_COUNT = 500;
const RETRY_MS = 250;
const WAKE_TRIES = 100;
const SHUTDOWN_WAIT_MS = 1000;

/**
 * Per-session Redis streams (XADD with an approximate MAXLEN and a TTL). Each process reads every
 * stream its clients follow through ONE blocking XREAD connection, however many clients there are
 * (failure F5): a new stream to follow wakes that read with CLIENT UNBLOCK.
 */
@Injectable()
export class RedisEventStream extends EventStream implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly watched = new Map<string, WatchedStream>();
  private readerId: number | undefined;
  private keysChanged = false;
  /** True from the moment the reader picked its keys until its XREAD returned. */
  private reading = false;
  private idleWake: (() => void) | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.redis.eventReader.on('ready', () => {
      this.readerId = undefined;
    });
    this.loop = this.readLoop();
  }

  /** Bounded: with Redis away the reader may be waiting for a reconnect that never comes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.watched.clear();
    await this.wakeReader();
    await Promise.race([this.loop, sleep(SHUTDOWN_WAIT_MS)]);
  }

  async publish(streamKey: string, type: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    const { extendTtl = true, fence = null } = options;
    const key = this.redis.key('events', streamKey);
    const { streamMaxLength, streamTtlMs } = this.config.events;
    const json = JSON.stringify(data);
    if (options.transcript !== undefined) {
      return this.publishInTranscript(key, options.transcript, fence, [
        streamMaxLength,
        type,
        json,
        extendTtl ? streamTtlMs : 0,
      ]);
    }
    if (fence !== null) {
      const id = await this.redis.runScript(
        FENCED_XADD,
        [key, fence.key],
        [fence.token, streamMaxLength, type, json, extendTtl ? streamTtlMs : 0],
      );
      if (id === null) {
        throw new FencedOutError(streamKey);
      }
      return id as string;
    }
    const entry = ['MAXLEN', '~', String(streamMaxLength), '*', 'type', type, 'data', json] as const;
    if (!extendTtl) {
      return (await this.redis.commands.xadd(key, ...entry)) as string;
    }
    // Issued together on the auto-pipelined connection: they leave in the same write as the other
    // commands of this turn, in this order, without building a pipeline of their own. The TTL is
    // best effort, as the entry's own answer is what the caller waits for.
    const [id] = await Promise.all([
      this.redis.commands.xadd(key, ...entry),
      this.redis.commands.pexpire(key, streamTtlMs).catch(() => 0),
    ]);
    if (id === null) {
      throw new Error('XADD returned nothing');
    }
    return id;
  }

  async closeTranscript(transcriptKey: string): Promise<string> {
    const text = await this.redis.runScript(
      CLOSE_TRANSCRIPT,
      [this.redis.key('transcript', transcriptKey)],
      [this.config.events.streamTtlMs],
    );
    return text as string;
  }

  private async publishInTranscript(
    key: string,
    transcript: TranscriptPart,
    fence: PublishOptions['fence'],
    entry: [maxLength: number, type: string, json: string, ttlMs: number],
  ): Promise<string> {
    const transcriptKey = this.redis.key('transcript', transcript.key);
    const result = (await this.redis.runScript(
      TRANSCRIPT_XADD,
      [key, transcriptKey, fence?.key ?? transcriptKey],
      [fence?.token ?? '', ...entry, transcript.attempt, transcript.text, this.config.events.streamTtlMs],
    )) as [number, string?];
    if (result[0] === 1) {
      throw new TranscriptClosedError(transcript.key);
    }
    if (result[0] !== 2 || result[1] === undefined) {
      throw new FencedOutError(key);
    }
    return result[1];
  }

  async subscribe(
    streamKey: string,
    afterId: string | undefined,
    listener: StreamListener,
  ): Promise<StreamSubscription> {
    const key = this.redis.key('events', streamKey);
    const watched = this.watched.get(key) ?? (await this.watch(key));
    const delivery = new OrderedDelivery(afterId ?? watched.cursor, listener);
    watched.deliveries.add(delivery);
    const close = (): void => {
      watched.deliveries.delete(delivery);
      if (watched.deliveries.size === 0 && this.watched.get(key) === watched) {
        this.watched.delete(key);
      }
    };
    try {
      if (afterId !== undefined && (await this.missedSince(key, afterId))) {
        listener(missedEvent(afterId));
      }
      delivery.release(afterId === undefined ? [] : await this.backlog(key, afterId));
    } catch (error) {
      close();
      throw error;
    }
    return { close };
  }

  private async watch(key: string): Promise<WatchedStream> {
    const last = (await this.redis.commands.xrevrange(key, '+', '-', 'COUNT', 1)) as XEntry[];
    const existing = this.watched.get(key);
    if (existing) {
      return existing;
    }
    const watched: WatchedStream = { cursor: last[0]?.[0] ?? '0-0', deliveries: new Set() };
    this.watched.set(key, watched);
    this.keysChanged = true;
    void this.wakeReader();
    return watched;
  }

  /**
   * Whether events after `afterId` may be gone: the oldest retained event is newer than it (trimming
   * removes the oldest first; at the boundary this errs towards telling the client to reload), or
   * the stream expired or was lost with Redis (a client cannot hold an id of a stream that never existed).
   */
  private async missedSince(key: string, afterId: string): Promise<boolean> {
    if (afterId === FROM_THE_START) {
      return this.wasTrimmed(key);
    }
    const oldest = (await this.redis.commands.xrange(key, '-', '+', 'COUNT', 1)) as XEntry[];
    const oldestId = oldest[0]?.[0];
    return oldestId === undefined || compareEventIds(oldestId, afterId) > 0;
  }

  /**
   * `0-0` asks for every event there was: something is missing only if the stream lost entries to
   * its length bound. A stream that does not exist has nothing to miss (no event was ever
   * published, or it expired with its session idle, whose history is in the database).
   */
  private async wasTrimmed(key: string): Promise<boolean> {
    let info: unknown[];
    try {
      info = (await this.redis.commands.xinfo('STREAM', key)) as unknown[];
    } catch (error) {
      if ((error as Error).message.includes('no such key')) {
        return false;
      }
      throw error;
    }
    const field = (name: string): number => Number(info[info.indexOf(name) + 1]);
    return field('entries-added') > field('length');
  }

  private async backlog(key: string, afterId: string): Promise<StreamEvent[]> {
    const entries = (await this.redis.commands.xrange(
      key,
      `(${afterId}`,
      '+',
      'COUNT',
      this.config.events.streamMaxLength * 2,
    )) as XEntry[];
    return entries.map(toEvent);
  }

  private async readLoop(): Promise<void> {
    const reader = this.redis.eventReader;
    while (!this.closed) {
      try {
        this.readerId ??= await reader.client('ID');
        if (this.watched.size === 0) {
          await this.idle();
          continue;
        }
        this.keysChanged = false;
        this.reading = true;
        const keys = [...this.watched.keys()];
        const cursors = keys.map((key) => this.watched.get(key)?.cursor ?? '$');
        const reply = await reader.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...cursors);
        this.reading = false;
        this.dispatch(reply);
      } catch (error) {
        this.reading = false;
        if (this.closed) {
          return;
        }
        this.readerId = undefined;
        this.logger.warn({ err: (error as Error).message }, 'event stream read failed; retrying');
        await sleep(RETRY_MS);
      }
    }
  }

  /** Nothing to follow: wait for a subscription (or the close) without touching Redis. */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWake = undefined;
        resolve();
      };
      const timer = setTimeout(done, BLOCK_MS);
      this.idleWake = done;
    });
  }

  private dispatch(reply: XReadReply): void {
    for (const [key, entries] of reply ?? []) {
      const watched = this.watched.get(key);
      if (watched === undefined) {
        continue;
      }
      for (const entry of entries) {
        const event = toEvent(entry);
        watched.cursor = event.id;
        for (const delivery of watched.deliveries) {
          delivery.offer(event);
        }
      }
    }
  }

  /** Ends the reader's current XREAD so the next one includes the new keys (or sees the close). */
  private async wakeReader(): Promise<void> {
    this.idleWake?.();
    for (let i = 0; i < WAKE_TRIES && this.reading && (this.keysChanged || this.closed); i += 1) {
      const id = this.readerId;
      if (id !== undefined) {
        const unblocked = (await this.redis.commands.client('UNBLOCK', id).catch(() => 0)) as number;
        if (unblocked === 1) {
          return;
        }
      }
      await sleep(5);
    }
  }
}

function toEvent([id, fields]: XEntry): StreamEvent {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    values.set(fields[i] as string, fields[i + 1] as string);
  }
  let data: unknown = null;
  try {
    data = JSON.parse(values.get('data') ?? 'null');
  } catch {
    data = null;
  }
  return { id, type: values.get('type') ?? 'unknown', data };
}
