/** A search box query: more terms than anyone types, few enough that PostgreSQL's parser stack holds. */
export const MAX_SEARCH_TERMS = 32;
const MAX_PHRASE_WORDS = 16;
const MAX_WORD_LENGTH = 100;
const WORD = /[\p{L}\p{N}]+/gu;

function wordsOf(text: string): string[] {
  return [...text.toLowerCase().matchAll(WORD)]
    .map(([word]) => word.slice(0, MAX_WORD_LENGTH))
    .filter((word) => word !== 'or');
}

type Term = { kind: 'term'; text: string; negated: boolean } | { kind: 'or' };

/** Phrases in quotes, `-` before a term, `or` between terms, and words; nothing else is syntax. */
function tokenise(query: string): Term[] {
  const terms: Term[] = [];
  const token = /(-?)"([^"]*)"?|(-?)([^\s"]+)/gu;
  for (const match of query.matchAll(token)) {
    const [, phraseMinus, phrase, wordMinus, bare] = match;
    if (bare !== undefined && bare.toLowerCase() === 'or' && wordMinus === '') {
      terms.push({ kind: 'or' });
      continue;
    }
    const words = wordsOf(phrase ?? bare ?? '').slice(0, MAX_PHRASE_WORDS);
    if (words.length === 0) {
      continue;
    }
    const negated = (phraseMinus ?? wordMinus) === '-';
    // A hyphenated or punctuated word (`victim-secret`) is searched as the phrase of its parts.
    const text = words.length === 1 && phrase === undefined ? (words[0] as string) : `"${words.join(' ')}"`;
    terms.push({ kind: 'term', text, negated });
  }
  return terms;
}

/**
 * The `websearch_to_tsquery` input for what a person typed in a search box, rebuilt from its
 * words so that PostgreSQL can never reject it (a run of `-` once overflowed its parser stack):
 * at most MAX_SEARCH_TERMS terms, each a word or a quoted phrase of words, optionally negated,
 * `or` only between two terms. Empty when nothing searchable is left.
 */
export function websearchQuery(query: string): string {
  const out: string[] = [];
  let terms = 0;
  let pendingOr = false;
  for (const term of tokenise(query)) {
    if (term.kind === 'or') {
      pendingOr = terms > 0;
      continue;
    }
    if (terms === MAX_SEARCH_TERMS) {
      break;
    }
    if (pendingOr) {
      out.push('or');
      pendingOr = false;
    }
    out.push(`${term.negated ? '-' : ''}${term.text}`);
    terms += 1;
  }
  return out.join(' ');
}
