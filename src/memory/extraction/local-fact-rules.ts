import { MAX_FACTS_PER_MESSAGE, type Fact, type FactTopic } from './fact.js';

interface Rule {
  readonly pattern: RegExp;
  readonly topic: FactTopic | null;
  readonly fact: (captured: string) => string;
}

/** Ends a captured phrase: a clause break, or words that start a new thought. */
const PHRASE = String.raw`([^,.;:!?\n]{1,120}?)(?=\s+(?:and|but|because|so)\s|[,.;:!?\n]|$)`;

const RULES: readonly Rule[] = [
  { pattern: new RegExp(String.raw`\bmy name is\s+${PHRASE}`, 'giu'), topic: 'name', fact: (x) => `My name is ${x}` },
  { pattern: new RegExp(String.raw`\bcall me\s+${PHRASE}`, 'giu'), topic: 'name', fact: (x) => `My name is ${x}` },
  { pattern: new RegExp(String.raw`\bi live in\s+${PHRASE}`, 'giu'), topic: 'location', fact: (x) => `I live in ${x}` },
  { pattern: new RegExp(String.raw`\bi work as\s+${PHRASE}`, 'giu'), topic: 'job', fact: (x) => `I work as ${x}` },
  { pattern: new RegExp(String.raw`\bi (?:really )?like\s+${PHRASE}`, 'giu'), topic: null, fact: (x) => `I like ${x}` },
  { pattern: new RegExp(String.raw`\bi (?:really )?love\s+${PHRASE}`, 'giu'), topic: null, fact: (x) => `I love ${x}` },
  {
    pattern: /\bremember that\s+([^.!?\n]{1,300})/giu,
    topic: null,
    fact: (x) => x.charAt(0).toUpperCase() + x.slice(1),
  },
];

/**
 * The local provider's extraction: deterministic rules for the facts people state most ("my name
 * is …", "I live in …", "I like …", "remember that …"), so that embedded mode and tests show the
 * feature without a model. Questions are not statements: "do you like …?" states nothing.
 */
export function extractFactsByRules(message: string): Fact[] {
  const facts: Fact[] = [];
  const seen = new Set<string>();
  for (const sentence of message.split(/(?<=[.!?\n])/u)) {
    if (sentence.trim().endsWith('?')) {
      continue;
    }
    for (const rule of RULES) {
      for (const match of sentence.matchAll(rule.pattern)) {
        const captured = (match[1] ?? '').trim();
        if (captured === '') {
          continue;
        }
        const text = rule.fact(captured);
        if (!seen.has(text.toLowerCase())) {
          seen.add(text.toLowerCase());
          facts.push({ text, topic: rule.topic });
        }
      }
    }
  }
  return facts.slice(0, MAX_FACTS_PER_MESSAGE);
}
