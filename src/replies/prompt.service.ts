import { Injectable } from '@nestjs/common';
import { MemoryProvider } from '../common/memory-provider.port.js';
import { AppConfig } from '../config/app-config.js';
import { MeService } from '../me/me.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { PromptMessage } from '../llm/llm-provider.js';
import type { MessageCore, MessageEntity } from '../conversation/message.entity.js';
import { ReplyRepository } from './reply.repository.js';
import { estimateTokens } from './summary/summary-digest.util.js';
import { SummaryRepository } from './summary/summary.repository.js';
import { SummaryService } from './summary/summary.service.js';

/** Messages read from the database per prompt; the token budget usually keeps fewer. */
const HISTORY_LIMIT = 500;
const MEMORY_LIMIT = 20;
/** Memories may take at most this share of the budget left after the question. */
const MEMORY_SHARE = 0.25;

/** The parts of a prompt, in order; each is measured (parley_prompt_tokens). */
type PromptPart = 'system' | 'instructions' | 'memories' | 'summary' | 'recent';

const INSTRUCTIONS_HEADER = 'The user gave these instructions for every reply:';

const SUMMARY_HEADER = 'A summary of the earlier conversation:';
/** Older messages left out of the prompt before a summary of them is asked for. */
const SUMMARY_MIN_LEFT_OUT = 4;

/**
 * Builds what the model is sent: the system prompt, the user's custom instructions, their memories (from the memory
 * hook), the summary of the branch's older messages when there is one, then as many of the most
 * recent messages (newer than the summary) as fit LLM_PROMPT_TOKEN_BUDGET. The message being
 * answered is always included. A branch that fits whole is sent whole, without a summary even if
 * an earlier, tighter budget made one.
 */
@Injectable()
export class PromptService {
  constructor(
    private readonly replies: ReplyRepository,
    private readonly memories: MemoryProvider,
    private readonly me: MeService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly summaries: SummaryRepository,
    private readonly summarizer: SummaryService,
  ) {}

  /** The prompt, and the message it answers as the branch query read it (none: no parent). */
  async build(reply: MessageEntity): Promise<{ messages: PromptMessage[]; question: MessageCore | undefined }> {
    // A reply's parent is its user message: the prompt is that message's branch and nothing else,
    // read down to the summary that matters once past what the budget can hold (see assemble).
    const history =
      reply.parentId === null
        ? []
        : await this.replies.branchEndingAt(reply.parentId, HISTORY_LIMIT, this.config.llm.promptTokenBudget);
    const parts = await this.assemble(reply, history);
    for (const [part, messages] of Object.entries(parts)) {
      this.metrics.promptTokens.observe(
        { part },
        messages.reduce((sum, m) => sum + estimateTokens(m.content), 0),
      );
    }
    return {
      messages: [...parts.system, ...parts.instructions, ...parts.memories, ...parts.summary, ...parts.recent],
      question: history.at(-1),
    };
  }

  private async assemble(
    reply: MessageEntity,
    history: readonly MessageCore[],
  ): Promise<Record<PromptPart, PromptMessage[]>> {
    const question = history.at(-1);
    const system: PromptMessage = { role: 'system', content: this.config.llm.systemPrompt };
    const instructions = await this.instructionsMessage(reply.ownerId);
    const head = [system, ...instructions];
    let budget = this.config.llm.promptTokenBudget - head.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    if (question === undefined) {
      return { system: [system], instructions, memories: [], summary: [], recent: [] };
    }
    budget -= estimateTokens(question.content);
    const memory = await this.memoryMessage(reply.ownerId, question.content, Math.max(0, budget) * MEMORY_SHARE);
    budget -= memory ? estimateTokens(memory.content) : 0;
    // A whole branch that fits needs no summary: none is looked for (one query less per reply).
    const found = fitsWhole(history, budget) ? undefined : await this.summaryMessage(reply.sessionId, history);
    const summary = found !== undefined && estimateTokens(found.message.content) <= budget ? found : undefined;
    budget -= summary ? estimateTokens(summary.message.content) : 0;
    const covered = summary?.throughSeq ?? 0;
    const recent: MessageCore[] = [question];
    let i = history.length - 2;
    for (; i >= 0 && (history[i] as MessageCore).seq > covered; i -= 1) {
      const cost = estimateTokens((history[i] as MessageCore).content);
      if (cost > budget) {
        break;
      }
      budget -= cost;
      recent.unshift(history[i] as MessageCore);
    }
    // What the newest summary covers is not left out, even when the summary itself did not fit.
    this.summarizeIfLeftOut(history, i, found?.throughSeq ?? 0);
    return {
      system: [system],
      instructions,
      memories: memory ? [memory] : [],
      summary: summary ? [summary.message] : [],
      recent: recent.map((m) => ({ role: m.role, content: m.content })),
    };
  }

  /** The newest summary of this branch, as the prompt would hold it. */
  private async summaryMessage(
    sessionId: string,
    history: readonly MessageCore[],
  ): Promise<{ message: PromptMessage; throughSeq: number } | undefined> {
    const found = await this.summaries.latestOnBranch(
      sessionId,
      history.map((m) => m.id),
    );
    if (found === null) {
      return undefined;
    }
    return {
      message: { role: 'system', content: `${SUMMARY_HEADER}\n${found.content}` },
      throughSeq: found.throughSeq,
    };
  }

  /**
   * Messages newer than the summary that no longer fit (history[0..last]): once there are enough
   * of them, a summary through the newest of them is asked for, in the background. It extends the
   * newest summary (SummaryService), which is why the messages that one covers are not counted.
   */
  private summarizeIfLeftOut(history: readonly MessageCore[], last: number, covered: number): void {
    const leftOut = history.slice(0, last + 1).filter((m) => m.seq > covered);
    const newest = leftOut.at(-1);
    if (newest !== undefined && leftOut.length >= SUMMARY_MIN_LEFT_OUT) {
      this.summarizer.request(newest);
    }
  }

  /** The owner's custom instructions, right after the system prompt. */
  private async instructionsMessage(ownerId: string): Promise<PromptMessage[]> {
    const { instructions } = await this.me.get(ownerId);
    return instructions === null ? [] : [{ role: 'system', content: `${INSTRUCTIONS_HEADER}\n${instructions}` }];
  }

  private async memoryMessage(ownerId: string, query: string, budget: number): Promise<PromptMessage | undefined> {
    const found = await this.memories.memoriesFor(ownerId, query, MEMORY_LIMIT);
    const kept: string[] = [];
    let used = estimateTokens('What you know about the user:');
    for (const memory of found) {
      const cost = estimateTokens(memory);
      if (used + cost > budget) {
        break;
      }
      used += cost;
      kept.push(memory);
    }
    return kept.length === 0
      ? undefined
      : { role: 'system', content: `What you know about the user:\n${kept.map((m) => `- ${m}`).join('\n')}` };
  }
}

/** Whether every message of the branch before the question (history's last) fits the budget. */
function fitsWhole(history: readonly MessageCore[], budget: number): boolean {
  let cost = 0;
  for (let i = 0; i < history.length - 1; i += 1) {
    cost += estimateTokens((history[i] as MessageCore).content);
    if (cost > budget) {
      return false;
    }
  }
  return true;
}

export { estimateTokens };
