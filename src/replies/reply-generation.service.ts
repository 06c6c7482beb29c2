import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { LockService, type LockFence } from '../coordination/lock.port.js';
import { SignalBus } from '../coordination/signal-bus.port.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LLM_ERROR_KINDS, LlmError } from '../llm/llm.error.js';
import { LlmProvider, type PromptMessage } from '../llm/llm-provider.js';
import { TERMINAL_STATUSES, type MessageCore, type MessageEntity } from '../conversation/message.entity.js';
import { MemoryExtractionTrigger } from './memory-extraction.trigger.js';
import { PromptService } from './prompt.service.js';
import { SessionEventBus } from '../events/session-event-bus.service.js';
import { ReplyRepository } from './reply.repository.js';

const MAX_BACKOFF_MS = 30_000;
/** A reply gets this many rounds of LLM_MAX_TRIES attempts in all (across jobs and workers). */
const ATTEMPT_ROUNDS = 3;
const GAVE_UP = {
  code: 'generation_failed',
  message: 'The reply could not be generated. Please send your message again.',
};

/** The channel on which a stopped reply's id reaches the worker generating it. */
export const REPLY_STOP_CHANNEL = 'reply-stop';

/** Why a reply's generation was aborted: its user stopped it (the row is already `stopped`). */
export class ReplyStoppedError extends Error {
  constructor(replyId: string) {
    super(`reply ${replyId} was stopped`);
    this.name = 'ReplyStoppedError';
  }
}

/** The reply was taken over by another worker (its fenced write matched no row). */
export class ReplyFencedError extends Error {
  constructor(replyId: string) {
    super(`reply ${replyId} was taken over by another attempt`);
  }
}

/** Exponential backoff with jitter (half fixed, half random), never shorter than Retry-After. */
export function retryDelayMs(baseMs: number, failedTries: number, retryAfterMs = 0): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (failedTries - 1));
  return Math.max(retryAfterMs, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
}

/**
 * Produces replies one session at a time, in seq order, under the session's generation lock.
 * Whoever holds the lock goes on until the session has no open reply (one reply per hold, looking
 * again after each release), so a job that finds the lock taken can return: its reply is on the
 * holder's list. Each try is a new attempt in the database, and only the current attempt's write
 * can finish the reply (F8).
 */
@Injectable()
export class ReplyGenerationService implements OnModuleInit {
  /**
   * The replies this process is generating now, to abort when their user stops one. A reply may
   * have more than one generation here for a moment: one whose lock was lost (Redis restarted
   * empty) unwinds only once its lock check notices, and by then the reconciler's new job may
   * already have taken the free lock and started the next attempt. Each generation removes only
   * its own entry, so a stop always finds the one still streaming.
   */
  private readonly generating = new Map<string, Set<AbortController>>();

  constructor(
    private readonly replies: ReplyRepository,
    private readonly locks: LockService,
    private readonly llm: LlmProvider,
    private readonly prompts: PromptService,
    private readonly events: SessionEventBus,
    private readonly extraction: MemoryExtractionTrigger,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly signals: SignalBus,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    metrics.initialiseLlmSeries(llm.name, LLM_ERROR_KINDS);
  }

  onModuleInit(): void {
    if (this.config.role !== 'api') {
      this.signals.listen(
        REPLY_STOP_CHANNEL,
        (replyId) => this.abortStopped(replyId),
        () => void this.abortMissedStops(),
      );
    }
  }

  /**
   * The stop signals sent while this process was cut off from the bus are lost: once it listens
   * again, the database tells which of the replies it is generating were stopped meanwhile.
   */
  private async abortMissedStops(): Promise<void> {
    for (const replyId of [...this.generating.keys()]) {
      try {
        if ((await this.replies.findReply(replyId))?.status === 'stopped') {
          this.logger.info({ replyId }, 'stop signal missed while reconnecting; generation aborted');
          this.abortStopped(replyId);
        }
      } catch (error) {
        this.logger.warn({ replyId, err: (error as Error).message }, 'could not check whether a reply was stopped');
      }
    }
  }

  /** Aborts the model call of a reply that was stopped, if this process is generating it. */
  abortStopped(replyId: string): void {
    for (const generation of this.generating.get(replyId) ?? []) {
      generation.abort(new ReplyStoppedError(replyId));
    }
  }

  /**
   * What a reply's job does: generates its session's open replies, unless the job's own reply is
   * finished already. The holder of a session's lock generates every open reply it finds before it
   * lets go, so under a stream of sends most jobs find their reply made by the time they run; a
   * look by primary key then spares them the lock and the claim's scan of the session's open
   * replies. A reply still open, or gone, goes on as before.
   */
  async generateForJob(replyId: string, sessionId: string, stop?: AbortSignal): Promise<void> {
    const reply = await this.replies.findReply(replyId);
    if (reply !== null && TERMINAL_STATUSES.includes(reply.status)) {
      return;
    }
    await this.generateSession(sessionId, stop);
  }

  /** `stop` aborts the work when the process hands its jobs back at shutdown. */
  async generateSession(sessionId: string, stop: AbortSignal = new AbortController().signal): Promise<void> {
    for (;;) {
      stop.throwIfAborted();
      const result = await this.locks.tryWithLock(
        `reply-generation:${sessionId}`,
        { ttlMs: this.config.replies.lockTtlMs },
        (lost, fence) => this.generateNext(sessionId, AbortSignal.any([lost, stop]), fence),
      );
      if (!result.acquired) {
        // The holder learns of the refusal when it lets go (`contended`), and looks for this reply.
        return;
      }
      if (result.value) {
        // Another reply was open behind the one just generated: it is next.
        continue;
      }
      // Nobody was refused the lock while it was held: a reply sent since has a job that has not
      // tried the lock yet, and takes it itself. Refused (or not known): that job's reply, or one
      // sent just as the lock was let go, may be waiting: look once more.
      if (result.contended === false || (await this.replies.nextOpenReply(sessionId)) === null) {
        return;
      }
    }
  }

  /**
   * Generates the session's earliest open reply, then lets the lock go; true when another open reply
   * followed it when it was claimed. A reply sent later is looked for after the release
   * (generateSession) only when its job was refused the lock meanwhile: in the usual case a reply
   * costs one look, the one that also begins its first attempt (claimNextReply), unless it must
   * wait for more messages.
   */
  private async generateNext(sessionId: string, signal: AbortSignal, fence: LockFence | null): Promise<boolean> {
    signal.throwIfAborted();
    const windowMs = this.config.replies.coalesceWindowMs;
    let next = await this.replies.claimNextReply(sessionId, Date.now() - windowMs);
    while (next !== null) {
      if (next.attempt !== null) {
        await this.generate(next.reply, next.attempt, signal, fence);
        return next.more;
      }
      signal.throwIfAborted();
      // A `coalesce` session's reply still pending: a message sent meanwhile supersedes it, and
      // the next look finds the one answering both.
      const quietFor = next.reply.createdAt.getTime() + windowMs - Date.now();
      await sleep(Math.max(1, quietFor), undefined, { signal });
      next = await this.replies.claimNextReply(sessionId, Date.now() - windowMs);
    }
    return false;
  }

  /**
   * A stopped reply ends quietly: the stop already stored it and told its subscribers; the signal
   * (or a delta refused because the reply's deltas were closed) only saves the tokens still to come.
   */
  private async generate(
    reply: MessageEntity,
    firstAttempt: number,
    signal: AbortSignal,
    fence: LockFence | null,
  ): Promise<void> {
    const stop = new AbortController();
    const generations = this.generating.get(reply.id) ?? new Set<AbortController>();
    generations.add(stop);
    this.generating.set(reply.id, generations);
    try {
      await this.tryUntilDone(reply, firstAttempt, AbortSignal.any([signal, stop.signal]), fence, () =>
        this.abortStopped(reply.id),
      );
    } catch (error) {
      if (!stop.signal.aborted) {
        throw error;
      }
      this.logger.debug({ replyId: reply.id }, 'reply stopped; generation aborted');
    } finally {
      generations.delete(stop);
      if (generations.size === 0 && this.generating.get(reply.id) === generations) {
        this.generating.delete(reply.id);
      }
    }
  }

  /**
   * Tries until the reply is complete, failed for good, or the work is aborted; `firstAttempt` was
   * begun when the reply was claimed, and each later try begins one of its own.
   */
  private async tryUntilDone(
    reply: MessageEntity,
    firstAttempt: number,
    signal: AbortSignal,
    fence: LockFence | null,
    onStopped: () => void,
  ): Promise<void> {
    for (let tries = 1; ; tries += 1) {
      const attempt = tries === 1 ? firstAttempt : await this.replies.beginAttempt(reply.id);
      if (attempt === null) {
        return;
      }
      if (attempt > this.config.llm.maxTries * ATTEMPT_ROUNDS) {
        // Tried over and over across jobs (workers lost, unexpected errors): a reply that cannot be
        // made must not hold the session's later replies back forever.
        await this.fail(reply, attempt, GAVE_UP.code, GAVE_UP.message, `gave up after ${attempt - 1} attempts`);
        return;
      }
      try {
        const prompt = await this.prompts.build(reply);
        const content = await this.streamReply(reply, attempt, prompt.messages, signal, fence, onStopped);
        signal.throwIfAborted();
        await this.complete(reply, attempt, content, prompt.question);
        return;
      } catch (error) {
        if (signal.aborted || !(error instanceof LlmError)) {
          throw error;
        }
        this.metrics.llmErrors.inc({ provider: this.llm.name, kind: error.kind });
        if (!error.transient || tries >= this.config.llm.maxTries) {
          await this.fail(reply, attempt, error.code, error.userMessage, error.message);
          return;
        }
        const delay = retryDelayMs(this.config.llm.retryBaseMs, tries, error.retryAfterMs);
        this.logger.info(
          { replyId: reply.id, attempt, kind: error.kind, delayMs: delay },
          'transient model failure; retrying',
        );
        await sleep(delay, undefined, { signal });
      }
    }
  }

  /** `question`: the message the prompt answered, as read for it (the extraction needs its text). */
  private async complete(
    reply: MessageEntity,
    attempt: number,
    content: string,
    question: MessageCore | undefined,
  ): Promise<void> {
    const completed = await this.replies.complete(reply.id, attempt, content);
    if (completed === null) {
      await this.fenced(reply);
      return;
    }
    await this.events.replyCompleted(completed);
    await this.extraction.replyCompleted(completed, question);
    this.metrics.replies.inc({ outcome: 'complete' });
    this.metrics.replyLatency.observe((Date.now() - reply.createdAt.getTime()) / 1000);
    this.logger.debug({ replyId: reply.id, attempt }, 'reply completed');
  }

  private async fail(
    reply: MessageEntity,
    attempt: number,
    code: string,
    userMessage: string,
    detail: string,
  ): Promise<void> {
    const failed = await this.replies.fail(reply.id, attempt, code, userMessage);
    if (failed === null) {
      await this.fenced(reply);
      return;
    }
    await this.events.replyFailed(failed);
    this.metrics.replies.inc({ outcome: 'failed' });
    this.logger.warn({ replyId: reply.id, attempt, err: detail }, 'reply failed');
  }

  /**
   * This attempt's write matched no row. A reply stopped meanwhile is done with (the stop won the
   * race); otherwise another attempt took it over and this one must stop.
   */
  private async fenced(reply: MessageEntity): Promise<void> {
    const current = await this.replies.findReply(reply.id);
    if (current?.status === 'stopped') {
      this.logger.debug({ replyId: reply.id }, 'reply stopped before it could be finished');
      return;
    }
    this.metrics.replies.inc({ outcome: 'fenced' });
    throw new ReplyFencedError(reply.id);
  }

  /**
   * Tokens that arrive in the same turn of the event loop (a fast model, a network chunk holding
   * several) go out as one delta: fewer stream entries, no added latency.
   */
  private async streamReply(
    reply: MessageEntity,
    attempt: number,
    prompt: PromptMessage[],
    signal: AbortSignal,
    fence: LockFence | null,
    onStopped: () => void,
  ): Promise<string> {
    const provider = this.llm.name;
    const stop = this.metrics.llmDuration.startTimer({ provider });
    let content = '';
    let unsent = '';
    let scheduled: NodeJS.Immediate | undefined;
    const flush = (): void => {
      scheduled = undefined;
      if (unsent !== '') {
        this.events.replyDelta(reply, attempt, unsent, fence, onStopped);
        unsent = '';
      }
    };
    try {
      for await (const token of this.llm.stream(prompt, signal)) {
        signal.throwIfAborted();
        content += token;
        unsent += token;
        this.metrics.llmTokens.inc({ provider });
        scheduled ??= setImmediate(flush);
      }
    } catch (error) {
      clearImmediate(scheduled);
      stop({ outcome: 'error' });
      throw error;
    }
    clearImmediate(scheduled);
    flush();
    stop({ outcome: 'ok' });
    return content;
  }
}
