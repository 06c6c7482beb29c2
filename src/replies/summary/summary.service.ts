import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../../common/logger.module.js';
import type { ParleyClsStore } from '../../common/request-context.js';
import { AppConfig } from '../../config/app-config.js';
import { jobQueueToken } from '../../coordination/coordination.module.js';
import type { JobQueue } from '../../coordination/job-queue.port.js';
import type { MessageCore } from '../../conversation/message.entity.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { LlmError } from '../../llm/llm.error.js';
import { LlmProvider } from '../../llm/llm-provider.js';
import { SUMMARIES_QUEUE, summaryJobId, type SummarizeBranchJobData } from '../replies.constants.js';
import { ReplyRepository } from '../reply.repository.js';
import { digest, estimateTokens, SUMMARY_SHARE } from './summary-digest.util.js';
import { SummaryRepository } from './summary.repository.js';

export type SummaryOutcome = 'stored' | 'fenced' | 'nothing' | 'failed';

/** How every summarisation prompt to a model starts. */
export const SUMMARY_SYSTEM_PROMPT =
  'Summarise this conversation for your own later reference. Keep what the user said about themselves, decisions and open questions.';

/** Messages read for one summarisation: the part of the branch the prompt no longer holds. */
const BRANCH_LIMIT = 500;

/**
 * Summaries of the older part of long branches. Asked for by the prompt builder when messages no
 * longer fit; made in the background (a queue job per session), extended incrementally, fenced in
 * the database by the seq each extension starts at. Never blocks a reply: until a summary exists,
 * or when making one fails, the prompt holds the recent messages only.
 */
@Injectable()
export class SummaryService {
  constructor(
    @Inject(jobQueueToken(SUMMARIES_QUEUE)) private readonly queue: JobQueue<SummarizeBranchJobData>,
    private readonly replies: ReplyRepository,
    private readonly summaries: SummaryRepository,
    private readonly llm: LlmProvider,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly cls: ClsService<ParleyClsStore>,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  /** Asks for the branch up to `through` to be summarised; returns at once and never throws. */
  request(through: Pick<MessageCore, 'id' | 'sessionId'>): void {
    const data = {
      sessionId: through.sessionId,
      throughMessageId: through.id,
      requestId: this.cls.getId() ?? through.id,
    };
    this.queue.add(summaryJobId(through.sessionId), data).catch((error: unknown) => {
      this.logger.warn({ sessionId: through.sessionId, err: (error as Error).message }, 'summary not enqueued');
    });
  }

  async summarize(job: SummarizeBranchJobData, signal: AbortSignal): Promise<SummaryOutcome> {
    let outcome: SummaryOutcome;
    try {
      outcome = await this.run(job, signal);
    } catch (error) {
      if (signal.aborted || !(error instanceof LlmError)) {
        this.metrics.summaries.inc({ outcome: 'failed' });
        throw error;
      }
      this.logger.warn({ sessionId: job.sessionId, err: error.message }, 'summary failed');
      outcome = 'failed';
    }
    this.metrics.summaries.inc({ outcome });
    return outcome;
  }

  private async run(job: SummarizeBranchJobData, signal: AbortSignal): Promise<SummaryOutcome> {
    // Down to the message the newest summary goes through, the one this summary extends.
    const branch = await this.replies.branchEndingAt(job.throughMessageId, BRANCH_LIMIT, 0);
    const through = branch.at(-1);
    if (through?.id !== job.throughMessageId) {
      return 'nothing';
    }
    const previous = await this.summaries.latestOnBranch(
      job.sessionId,
      branch.map((m) => m.id),
    );
    const fresh = branch.filter((m) => m.seq > (previous?.throughSeq ?? 0));
    const first = fresh[0];
    if (first === undefined) {
      return 'nothing';
    }
    const maxTokens = Math.floor(this.config.llm.promptTokenBudget * SUMMARY_SHARE);
    const content =
      this.llm.name === 'local'
        ? digest(previous?.content ?? null, fresh, maxTokens)
        : await this.modelSummary(previous?.content ?? null, fresh, maxTokens, signal);
    const stored = await this.summaries.insert({
      sessionId: job.sessionId,
      fromSeq: previous === null ? first.seq : previous.throughSeq + 1,
      throughSeq: through.seq,
      throughMessageId: through.id,
      content,
    });
    return stored ? 'stored' : 'fenced';
  }

  private async modelSummary(
    previous: string | null,
    fresh: readonly MessageCore[],
    maxTokens: number,
    signal: AbortSignal,
  ): Promise<string> {
    // The transcript itself must fit the model's prompt: its newest part is kept.
    const lines: string[] = [];
    let room = this.config.llm.promptTokenBudget - maxTokens;
    for (let i = fresh.length - 1; i >= 0; i -= 1) {
      const message = fresh[i] as MessageCore;
      const line = `${message.role}: ${message.content}`;
      room -= estimateTokens(line);
      if (room < 0) {
        break;
      }
      lines.unshift(line);
    }
    const words = Math.max(20, Math.floor(maxTokens * 0.7));
    let answer = '';
    for await (const token of this.llm.stream(
      [
        {
          role: 'system',
          content: `${SUMMARY_SYSTEM_PROMPT} In at most ${words} words.`,
        },
        {
          role: 'user',
          content: `${previous === null ? '' : `Summary so far:\n${previous}\n\n`}Conversation:\n${lines.join('\n')}`,
        },
      ],
      signal,
    )) {
      answer += token;
    }
    return answer.trim().slice(0, maxTokens * 4) || '(nothing to summarise)';
  }
}
