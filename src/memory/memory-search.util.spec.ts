import { describe, expect, it } from 'vitest';
import { anyWordQuery, websearchQuery } from './memory-search.util.js';

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
