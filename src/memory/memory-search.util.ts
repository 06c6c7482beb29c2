/** Enough words to find what a message is about without building an unbounded query. */
const MAX_TERMS = 64;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Turns free text (a chat message) into a `websearch_to_tsquery` input matching ANY of its words:
 * a memory about one thing the message mentions is relevant even if the rest is not. Only letters
 * and digits survive, so no input can smuggle in query syntax; `or` itself would be an operator.
 */
export function anyWordQuery(text: string): string {
  const words = new Set<string>();
  for (const [word] of text.toLowerCase().matchAll(WORD)) {
    if (word !== 'or') {
      words.add(word);
    }
    if (words.size === MAX_TERMS) {
      break;
    }
  }
  return [...words].join(' or ');
}
