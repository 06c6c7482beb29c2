import { describe, expect, it } from 'vitest';
import type { MessageEntity } from '../../conversation/message.entity.js';
import { digest, estimateTokens } from './summary-digest.util.js';

const message = (seq: number, content: string): MessageEntity =>
  ({ seq, role: seq % 2 === 1 ? 'user' : 'assistant', content }) as MessageEntity;

describe('digest (the local provider summary)', () => {
  it('gives one line per message with its seq, role and first words, after the previous digest', () => {
    const first = digest(
      null,
      [
        message(1, 'I am planning a trip to Lisbon next spring with my two children and my dog'),
        message(2, 'Sounds great!'),
      ],
      1000,
    );
    expect(first).toBe(
      '#1 user: I am planning a trip to Lisbon next spring with my two …\n#2 assistant: Sounds great!',
    );
    expect(digest(first, [message(3, 'Where should we stay?')], 1000)).toBe(`${first}\n#3 user: Where should we stay?`);
  });

  it('is the same for the same input, and drops its oldest lines past the bound', () => {
    const messages = Array.from({ length: 100 }, (_, i) => message(i + 1, `message number ${i + 1}`));
    const bounded = digest(null, messages, 60);
    expect(bounded).toBe(digest(null, messages, 60));
    expect(estimateTokens(bounded)).toBeLessThanOrEqual(60);
    expect(bounded.startsWith('…\n')).toBe(true);
    expect(bounded.endsWith('#100 assistant: message number 100')).toBe(true);
  });
});
