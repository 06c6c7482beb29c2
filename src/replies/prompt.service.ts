import { Injectable } from '@nestjs/common';
import { MemoryProvider } from '../common/memory-provider.port.js';
import { AppConfig } from '../config/app-config.js';
import { MeService } from '../me/me.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { PromptMessage } from './llm/llm-provider.js';
import type { MessageEntity } from '../messages/message.entity.js';
import { ReplyRepository } from './reply.repository.js';

/** Messages read from the database per prompt; the token budget usually keeps fewer. */
const HISTORY_LIMIT = 500;
const MEMORY_LIMIT = 20;
/** Memories may take at most this share of the budget left after the question. */
const MEMORY_SHARE = 0.25;

/** The parts of a prompt, in order; each is measured (parley_prompt_tokens). */
type PromptPart = 'system' | 'instructions' | 'memories' | 'recent';

const INSTRUCTIONS_HEADER = 'The user gave these instructions for every reply:';

/** A rough count (about four characters per token, plus the message's framing): no tokenizer needed. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

/**
 * Builds what the model is sent: the system prompt, the user's custom instructions, their memories (from the memory
 * hook), then as many of the most recent messages as fit LLM_PROMPT_TOKEN_BUDGET. The message
 * being answered is always included.
 */
@Injectable()
export class PromptService {
  constructor(
    private readonly replies: ReplyRepository,
    private readonly memories: MemoryProvider,
    private readonly me: MeService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async build(reply: MessageEntity): Promise<PromptMessage[]> {
    const parts = await this.assemble(reply);
    for (const [part, messages] of Object.entries(parts)) {
      this.metrics.promptTokens.observe({ part }, messages.reduce((sum, m) => sum + estimateTokens(m.content), 0));
    }
    return [...parts.system, ...parts.instructions, ...parts.memories, ...parts.recent];
  }

  private async assemble(reply: MessageEntity): Promise<Record<PromptPart, PromptMessage[]>> {
    // A reply's parent is its user message: the prompt is that message's branch and nothing else.
    const history = reply.parentId === null ? [] : await this.replies.branchEndingAt(reply.parentId, HISTORY_LIMIT);
    const question = history.at(-1);
    const system: PromptMessage = { role: 'system', content: this.config.llm.systemPrompt };
    const instructions = await this.instructionsMessage(reply.ownerId);
    const head = [system, ...instructions];
    let budget = this.config.llm.promptTokenBudget - head.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    if (question === undefined) {
      return { system: [system], instructions, memories: [], recent: [] };
    }
    budget -= estimateTokens(question.content);
    const memory = await this.memoryMessage(reply.ownerId, question.content, Math.max(0, budget) * MEMORY_SHARE);
    budget -= memory ? estimateTokens(memory.content) : 0;
    const recent: MessageEntity[] = [question];
    for (let i = history.length - 2; i >= 0; i -= 1) {
      const message = history[i] as MessageEntity;
      const cost = estimateTokens(message.content);
      if (cost > budget) {
        break;
      }
      budget -= cost;
      recent.unshift(message);
    }
    return {
      system: [system],
      instructions,
      memories: memory ? [memory] : [],
      recent: recent.map((m) => ({ role: m.role, content: m.content })),
    };
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
    return kept.length === 0 ? undefined : { role: 'system', content: `What you know about the user:\n${kept.map((m) => `- ${m}`).join('\n')}` };
  }
}
