import { describe, expect, it } from 'vitest';
import { anyWordQuery } from './memory-search.util.js';

describe('anyWordQuery', () => {
  it('joins the distinct words of a message with or', () => {
    expect(anyWordQuery('Where should I eat in Lisbon? Lisbon, tonight!')).toBe(
      'where or should or i or eat or in or lisbon or tonight',
    );
  });

  it('keeps letters and digits of any script and drops query syntax', () => {
    expect(anyWordQuery('"café" -müller & (2026) | :* \'x\'')).toBe('café or müller or 2026 or x');
  });

  it('drops the word or, which websearch_to_tsquery reads as an operator', () => {
    expect(anyWordQuery('tea OR coffee or')).toBe('tea or coffee');
  });

  it('is empty when there is no word', () => {
    expect(anyWordQuery('?! -- ...')).toBe('');
  });

  it('caps the number of words', () => {
    const text = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    expect(anyWordQuery(text).split(' or ')).toHaveLength(64);
  });
});
