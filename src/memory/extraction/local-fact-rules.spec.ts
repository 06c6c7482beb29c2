import { describe, expect, it } from 'vitest';
import { extractFactsByRules } from './local-fact-rules.js';

describe('extractFactsByRules', () => {
  it('recognises a name, a place, likes and explicit requests to remember', () => {
    expect(
      extractFactsByRules(
        'Hi! My name is Ana Sousa and I live in Porto, near the river. I like green tea. Remember that my cat is called Miso.',
      ),
    ).toEqual([
      { text: 'My name is Ana Sousa', topic: 'name' },
      { text: 'I live in Porto', topic: 'location' },
      { text: 'I like green tea', topic: null },
      { text: 'My cat is called Miso', topic: null },
    ]);
  });

  it('is case-insensitive and finds nothing in questions or small talk', () => {
    expect(extractFactsByRules('i LIVE IN quito')).toEqual([{ text: 'I live in quito', topic: 'location' }]);
    expect(extractFactsByRules('Do you like jazz? Where do I live?')).toEqual([]);
    expect(extractFactsByRules('What is the weather today')).toEqual([]);
    expect(extractFactsByRules('')).toEqual([]);
  });

  it('states each fact once and at most ten', () => {
    expect(extractFactsByRules('I like tea. I like tea.')).toHaveLength(1);
    const many = Array.from({ length: 30 }, (_, i) => `I like thing${i}.`).join(' ');
    expect(extractFactsByRules(many)).toHaveLength(10);
  });
});
