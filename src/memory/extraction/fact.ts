/**
 * What a fact is about, when a newer fact on the same topic replaces the older one ("I live in
 * Porto" after "I live in Quito"). Facts without a topic accumulate.
 */
export const FACT_TOPICS = ['name', 'location', 'job', 'age'] as const;
export type FactTopic = (typeof FACT_TOPICS)[number];

/** A durable fact about the user, drawn from one of their messages. */
export interface Fact {
  readonly text: string;
  readonly topic: FactTopic | null;
}

export const MAX_FACTS_PER_MESSAGE = 10;
export const MAX_FACT_LENGTH = 500;

export function isFactTopic(value: unknown): value is FactTopic {
  return typeof value === 'string' && (FACT_TOPICS as readonly string[]).includes(value);
}
