import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { SignalBus } from '../coordination/signal-bus.port.js';
import { SessionEventBus } from '../events/session-event-bus.service.js';
import { TERMINAL_STATUSES, type MessageEntity } from '../conversation/message.entity.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { REPLY_STOP_CHANNEL } from './reply-generation.service.js';
import { ReplyException, ReplyExceptionCode } from './reply.exception.js';
import { ReplyRepository } from './reply.repository.js';

/**
 * Stops a reply from any replica, whichever worker generates it. The order makes the stored text
 * exactly what subscribers saw: first the reply's deltas are closed (atomically with their appends,
 * so none can follow), then the row becomes `stopped` with their text, fenced like every finishing
 * write (only an unfinished reply can be stopped; a worker's later complete or fail matches no
 * row), then `reply.stopped` is published as the reply's last event, and only then is the worker
 * told to abort its model call (a lost signal costs tokens, never correctness: the worker's next
 * delta is refused and aborts it too). A reply still queued is stopped before any model call.
 */
@Injectable()
export class ReplyStopService {
  constructor(
    private readonly replies: ReplyRepository,
    private readonly events: SessionEventBus,
    private readonly signals: SignalBus,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  async stop(sessionId: string, replyId: string, requestedAt = Date.now()): Promise<MessageEntity> {
    const reply = await this.replies.findReply(replyId);
    if (reply === null || reply.sessionId !== sessionId) {
      throw new ReplyException(ReplyExceptionCode.ReplyNotFound);
    }
    if (TERMINAL_STATUSES.includes(reply.status)) {
      throw new ReplyException(ReplyExceptionCode.ReplyFinished);
    }
    let text: string;
    try {
      text = await this.events.closeDeltas(reply.id);
    } catch (error) {
      this.logger.warn({ replyId, err: (error as Error).message }, 'reply deltas could not be closed; stop refused');
      throw new ReplyException(ReplyExceptionCode.ControlUnavailable);
    }
    const closedAt = Date.now();
    const stopped = await this.replies.stop(reply.id, text);
    if (stopped === null) {
      throw new ReplyException(ReplyExceptionCode.ReplyFinished);
    }
    // Up to the moment its deltas were closed: no delta of the reply could follow it.
    this.metrics.stopLatency.observe((closedAt - requestedAt) / 1000);
    this.metrics.replies.inc({ outcome: 'stopped' });
    await this.events.replyStopped(stopped);
    await this.signals
      .signal(REPLY_STOP_CHANNEL, reply.id)
      .catch((error: Error) =>
        this.logger.warn({ replyId, err: error.message }, 'stop signal not sent; the worker stops at its next delta'),
      );
    return stopped;
  }
}
