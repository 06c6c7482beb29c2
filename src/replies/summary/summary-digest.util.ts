import type { MessageEntity } from '../../conversation/message.entity.js';

/** A summary may take at most this share of LLM_PROMPT_TOKEN_BUDGET. */
export const SUMMARY_SHARE = 0.25;
const WORDS_PER_LINE = 12;

/** A rough count (about four characters per token, plus the message's framing): no tokenizer needed. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

/**
 * The local provider's summary: a deterministic digest, one line per message (who, which seq, its
 * first words), appended to the previous digest. Past `maxTokens` the oldest lines give way.
 */
export function digest(
  previous: string | null,
  fresh: ReadonlyArray<Pick<MessageEntity, 'seq' | 'role' | 'content'>>,
  maxTokens: number,
): string {
  const lines = previous === null ? [] : previous.split('\n').filter((line) => line !== '…');
  for (const message of fresh) {
    const words = message.content.split(/\s+/).filter(Boolean);
    const text = words.slice(0, WORDS_PER_LINE).join(' ') + (words.length > WORDS_PER_LINE ? ' …' : '');
    lines.push(`#${message.seq} ${message.role}: ${text}`);
  }
  let dropped = false;
  while (lines.length > 1 && estimateTokens((dropped ? '…\n' : '') + lines.join('\n')) > maxTokens) {
    lines.shift();
    dropped = true;
  }
  return (dropped ? '…\n' : '') + lines.join('\n');
}
