import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import type { StreamEvent, StreamSubscription } from '../coordination/event-stream.port.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { EventsException, EventsExceptionCode, STREAM_RETRY_AFTER_SECONDS } from './events.exception.js';
import { SessionEventBus } from './session-event-bus.service.js';
import { SessionEventType } from './session-event.payloads.js';
import { StreamSlots } from './stream-slots.js';

/** A client that reads slower than this much buffered output is cut off; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What EventSource waits before reconnecting after the server closed the stream. */
const RECONNECT_MS = 1000;
/** setTimeout's longest delay; a credential valid longer is checked again when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

export function formatEvent(event: StreamEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * Server-sent events of one session, fed by its event stream: each event carries its stream id,
 * a reconnect with Last-Event-ID resumes after it (on any replica), a comment line every
 * SSE_HEARTBEAT_MS keeps proxies from closing an idle stream. A user holds at most
 * SSE_MAX_STREAMS_PER_USER streams over all replicas; a stream ends when the credential it was
 * opened with expires, when its session is deleted (on any replica), and at shutdown.
 */
@Injectable()
export class SessionEventsService implements BeforeApplicationShutdown {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly events: SessionEventBus,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly slots: StreamSlots,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  get openStreams(): number {
    return this.open.size;
  }

  async stream(
    sessionId: string,
    user: AuthenticatedUser,
    lastEventId: string | undefined,
    reply: FastifyReply,
  ): Promise<void> {
    const max = this.config.events.sseMaxStreamsPerUser;
    const slot = await this.slots.acquire(user.id, max);
    if (slot === null) {
      this.metrics.throttled.inc({ limit: 'streams' });
      throw new EventsException(
        EventsExceptionCode.TooManyStreams,
        `At most ${max} event streams may be open at once per user; close one first`,
        STREAM_RETRY_AFTER_SECONDS,
      );
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: ${RECONNECT_MS}\n\n`);
    let subscription: StreamSubscription | undefined;
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), this.config.events.sseHeartbeatMs);
    let expiry: NodeJS.Timeout | undefined;
    const close = (): void => {
      clearInterval(heartbeat);
      clearTimeout(expiry);
      slot.release();
      subscription?.close();
      this.open.delete(close);
      this.metrics.sseStreamsOpen.set(this.open.size);
      if (!raw.writableEnded) {
        raw.end();
      }
    };
    this.open.add(close);
    this.metrics.sseStreamsOpen.set(this.open.size);
    raw.once('close', close);
    if (user.expiresAtMs !== undefined) {
      // Ends with its credential: reconnecting needs a valid one again.
      expiry = setTimeout(close, Math.min(MAX_TIMER_MS, Math.max(0, user.expiresAtMs - Date.now())));
    }
    try {
      subscription = await this.events.subscribe(sessionId, lastEventId, (event) => {
        if (raw.writableLength > MAX_BUFFERED_BYTES) {
          close();
          return;
        }
        raw.write(formatEvent(event));
        if (event.type === SessionEventType.SessionDeleted) {
          close();
        }
      });
      this.metrics.sseStreamOpens.inc({ outcome: 'opened' });
      if (raw.destroyed) {
        close();
      }
    } catch (error) {
      this.metrics.sseStreamOpens.inc({ outcome: 'unavailable' });
      this.logger.warn({ sessionId, err: (error as Error).message }, 'event stream unavailable; closing SSE');
      close();
    }
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) {
      close();
    }
  }
}
