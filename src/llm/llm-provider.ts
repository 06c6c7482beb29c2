export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Any model that streams a reply to a prompt. Implementations must honour the abort signal. */
export abstract class LlmProvider {
  abstract readonly name: string;
  abstract stream(prompt: readonly PromptMessage[], signal: AbortSignal): AsyncIterable<string>;
}
