import { describe, expect, it } from 'vitest';
import { MalformedExtractionError, parseExtraction } from './fact-extractor.js';

describe('parseExtraction', () => {
  it('reads facts with a topic or null', () => {
    expect(
      parseExtraction('{"facts":[{"text":" I live in Porto ","topic":"location"},{"text":"I like tea","topic":null}]}'),
    ).toEqual([
      { text: 'I live in Porto', topic: 'location' },
      { text: 'I like tea', topic: null },
    ]);
    expect(parseExtraction('{"facts":[]}')).toEqual([]);
  });

  it.each([
    ['not JSON', 'Sure! Here are the facts'],
    ['fenced JSON', '```json\n{"facts":[]}\n```'],
    ['an array', '[]'],
    ['extra keys', '{"facts":[],"note":"x"}'],
    ['facts not an array', '{"facts":"I live in Porto"}'],
    ['a fact without topic', '{"facts":[{"text":"I live in Porto"}]}'],
    ['a blank fact', '{"facts":[{"text":"  ","topic":null}]}'],
    ['an unknown topic', '{"facts":[{"text":"x","topic":"secrets"}]}'],
    ['a fact of another type', '{"facts":[{"text":42,"topic":null}]}'],
    ['too many facts', JSON.stringify({ facts: Array.from({ length: 11 }, () => ({ text: 'x', topic: null })) })],
    ['an overlong fact', JSON.stringify({ facts: [{ text: 'x'.repeat(501), topic: null }] })],
  ])('refuses %s as malformed', (_, answer) => {
    expect(() => parseExtraction(answer)).toThrow(MalformedExtractionError);
  });
});
