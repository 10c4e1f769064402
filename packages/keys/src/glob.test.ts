import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeGlob } from './glob.js';
import { redisGlobMatch } from './redis-glob.test-helper.js';

// Biased towards the characters that mean something to the matcher.
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('*', '?', '[', ']', '\\', '^', '-', 'a', 'b', ':') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit, maxLength: 12 });

// A subject that is often equal or close to `s`, so near-misses get exercised.
const nearPair = fc
  .tuple(
    text,
    fc.constantFrom('same', 'insert', 'delete', 'replace', 'append', 'truncate', 'other'),
    fc.nat(),
    unit,
    text,
  )
  .map(([s, op, n, ch, other]): [string, string] => {
    const chars = [...s];
    const at = chars.length === 0 ? 0 : n % chars.length;
    switch (op) {
      case 'same':
        return [s, s];
      case 'insert':
        chars.splice(at, 0, ch);
        return [s, chars.join('')];
      case 'delete':
        chars.splice(at, 1);
        return [s, chars.join('')];
      case 'replace':
        chars.splice(at, 1, ch);
        return [s, chars.join('')];
      case 'append':
        return [s, s + other];
      case 'truncate':
        return [s, chars.slice(0, at).join('')];
      default:
        return [s, other];
    }
  });

describe('the reference Redis matcher used by these tests', () => {
  it.each([
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h*llo', 'heeeello', true],
    ['h*llo', 'hllo', true],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['t:acme:*', 't:acme:user:1', true],
    ['t:acme:*', 't:acme2:user:1', false],
    ['\\*', '*', true],
    ['\\*', 'x', false],
  ])('matches %s against %s as Redis does (%s)', (pattern, subject, expected) => {
    expect(redisGlobMatch(pattern, subject)).toBe(expected);
  });
});

describe('escapeGlob', () => {
  it('escapes every glob metacharacter with a backslash', () => {
    expect(escapeGlob('a*b?c[d]e\\f^g-h')).toBe('a\\*b\\?c\\[d\\]e\\\\f\\^g\\-h');
  });

  it('leaves ordinary characters alone', () => {
    expect(escapeGlob('t:acme_corp.01:user')).toBe('t:acme_corp.01:user');
  });

  it('produces a pattern that matches only the escaped string itself', () => {
    fc.assert(
      fc.property(nearPair, ([s, t]) => {
        expect(redisGlobMatch(escapeGlob(s), t)).toBe(s === t);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a trailing * meaningful: escaped prefix + * matches exactly the strings starting with it', () => {
    fc.assert(
      // Redis never matches an empty subject against `*` (and keys are never empty).
      fc.property(nearPair, ([s, t]) => {
        fc.pre(t !== '');
        expect(redisGlobMatch(`${escapeGlob(s)}*`, t)).toBe(t.startsWith(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('stays literal when embedded inside a bracket class', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('^', '-', ']', '\\', 'a'),
        fc.constantFrom('^', '-', ']', 'b', 'a'),
        (c, t) => {
          expect(redisGlobMatch(`[${escapeGlob(c)}]`, t)).toBe(c === t);
        },
      ),
    );
  });
});
