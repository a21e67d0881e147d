import { describe, expect, it } from 'vitest';
import { locateJsonError } from '../../scripts/json-error.ts';

describe('locateJsonError', () => {
  it('accepts what JSON.parse accepts', () => {
    for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]} ', '"s"', '0']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(locateJsonError(text)).toBeNull();
    }
  });

  it.each([
    ['{"a": 1,}', 8, 'a property name in double quotes'],
    ['{"a" 1}', 5, '":"'],
    ['[1 2]', 3, '"," or "]"'],
    ['{"a": tru}', 6, '"true"'],
    ['{"a": "x\\q"}', 9, 'a valid escape sequence'],
    ['{"a": 01}', 7, '"," or "}"'],
    ['{} x', 3, 'the end of the file'],
    ['{"a": "open', 11, 'a closing quote'],
  ])('finds where %s breaks', (text, offset, expected) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toEqual({ offset, expected });
  });
});

describe('locateJsonError on deeply nested input', () => {
  it('locates the error in a document nested 100k levels deep instead of overflowing the stack', () => {
    const depth = 100_000;
    expect(locateJsonError('['.repeat(depth))).toEqual({ offset: depth, expected: 'a value' });
    expect(locateJsonError(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth - 1)}`)).toEqual({
      offset: depth * 5 + 1 + depth - 1,
      expected: '"," or "}"',
    });
  });

  it('accepts a valid document nested 100k levels deep', () => {
    const depth = 100_000;
    expect(locateJsonError(`${'['.repeat(depth)}${']'.repeat(depth)}`)).toBeNull();
    expect(locateJsonError(`${'{"a":['.repeat(depth)}0${']}'.repeat(depth)}`)).toBeNull();
  });
});
