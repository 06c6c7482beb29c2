import type { LlmProvider, PromptMessage } from '../../llm/llm-provider.js';
import { FACT_TOPICS, isFactTopic, MAX_FACT_LENGTH, MAX_FACTS_PER_MESSAGE, type Fact } from './fact.js';
import { extractFactsByRules } from './local-fact-rules.js';

/** The model's answer was not the JSON asked for: nothing is stored from it. */
export class MalformedExtractionError extends Error {}

/** Draws durable facts about the user from one of their messages. */
export abstract class FactExtractor {
  abstract extract(message: string, signal: AbortSignal): Promise<Fact[]>;
}

/** The local provider: deterministic rules, no model. */
export class RuleFactExtractor extends FactExtractor {
  async extract(message: string): Promise<Fact[]> {
    return extractFactsByRules(message);
  }
}

export const EXTRACTION_SYSTEM_PROMPT = [
  'You extract durable facts about the user from the message they wrote (not from questions, not about anyone else).',
  'Answer with JSON only, exactly of this shape: {"facts":[{"text":"I live in Porto","topic":"location"}]}.',
  `"text" is one short first-person statement; "topic" is one of ${FACT_TOPICS.map((t) => `"${t}"`).join(', ')} or null.`,
  `At most ${MAX_FACTS_PER_MESSAGE} facts. No durable fact: {"facts":[]}.`,
].join('\n');

/**
 * Reads the model's answer strictly: one JSON object with exactly `facts`, each with exactly a
 * non-blank `text` (at most MAX_FACT_LENGTH) and a known `topic` or null. Anything else, even
 * one bad fact, makes the whole answer malformed.
 */
export function parseExtraction(answer: string): Fact[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    throw new MalformedExtractionError('the answer is not JSON');
  }
  if (!isPlainObject(parsed) || !sameKeys(parsed, ['facts']) || !Array.isArray(parsed.facts)) {
    throw new MalformedExtractionError('the answer is not {"facts": [...]}');
  }
  if (parsed.facts.length > MAX_FACTS_PER_MESSAGE) {
    throw new MalformedExtractionError('too many facts');
  }
  return parsed.facts.map((fact: unknown): Fact => {
    if (!isPlainObject(fact) || !sameKeys(fact, ['text', 'topic'])) {
      throw new MalformedExtractionError('a fact is not {"text", "topic"}');
    }
    const { text, topic } = fact;
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_FACT_LENGTH || text.includes('\u0000')) {
      throw new MalformedExtractionError('a fact has no usable text');
    }
    if (topic !== null && !isFactTopic(topic)) {
      throw new MalformedExtractionError('a fact has an unknown topic');
    }
    return { text: text.trim(), topic };
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(value).sort();
  return own.length === keys.length && [...keys].sort().every((key, i) => own[i] === key);
}

/** Any OpenAI-compatible model, asked with a JSON-only prompt. LlmError passes through (retried). */
export class ModelFactExtractor extends FactExtractor {
  constructor(private readonly llm: LlmProvider) {
    super();
  }

  async extract(message: string, signal: AbortSignal): Promise<Fact[]> {
    const prompt: PromptMessage[] = [
      { role: 'system', content: EXTRACTION_SYSTEM_PROMPT },
      { role: 'user', content: message },
    ];
    let answer = '';
    for await (const token of this.llm.stream(prompt, signal)) {
      answer += token;
    }
    return parseExtraction(answer.trim());
  }
}
