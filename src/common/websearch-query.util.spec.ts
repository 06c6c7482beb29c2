import { describe, expect, it } from 'vitest';
import { websearchQuery } from './websearch-query.util.js';

describe('websearchQuery', () => {
  it('keeps words, quoted phrases, exclusions and or', () => {
    expect(websearchQuery('Lisbon  -vegetarian "Vegetarian restaurant" tom OR trams')).toBe(
      'lisbon -vegetarian "vegetarian restaurant" tom or trams',
    );
  });

  it('drops operators with nothing to apply to', () => {
    expect(websearchQuery('-'.repeat(40))).toBe('');
    expect(websearchQuery(`a${'-'.repeat(40)}`)).toBe('a');
    expect(websearchQuery(`${'-'.repeat(40)}a`)).toBe('-a');
    expect(websearchQuery('or or a or or or b or')).toBe('a or b');
    expect(websearchQuery('"" - "-" ( :* & | ! \\ \'')).toBe('');
  });

  it('searches a hyphenated word as the phrase of its parts', () => {
    expect(websearchQuery('victim-secret')).toBe('"victim secret"');
  });

  it('bounds the terms and the words of a phrase', () => {
    expect(websearchQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).split(' ')).toHaveLength(32);
    const phrase = websearchQuery(`"${Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')}"`);
    expect(phrase.split(' ')).toHaveLength(16);
  });
});
