import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeGlob } from './glob.js';
import { globMatcher } from './glob-match.js';
import { redisGlobMatch } from './redis-glob.test-helper.js';

// Biased towards the characters that mean something to the matcher.
const unit = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('*', '?', '[', ']', '\\', '^', '-', 'a', 'b', ':') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit, maxLength: 12 });
const subject = fc.string({
  unit: fc.constantFrom('a', 'b', ':', '-', '*', '\\', 'é'),
  maxLength: 10,
});

describe('globMatcher', () => {
  it('agrees with the port of Redis stringmatchlen on any pattern and key', () => {
    fc.assert(
      fc.property(text, subject, (pattern, key) => {
        expect(globMatcher(pattern)(key)).toBe(redisGlobMatch(pattern, key));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees on literal-prefix patterns (its startsWith path)', () => {
    fc.assert(
      fc.property(text, subject, fc.boolean(), (literal, key, star) => {
        const pattern = escapeGlob(literal) + (star ? '*' : '');
        const extended = star ? literal + key : key;
        expect(globMatcher(pattern)(extended)).toBe(redisGlobMatch(pattern, extended));
        expect(globMatcher(pattern)(key)).toBe(redisGlobMatch(pattern, key));
      }),
      { numRuns: 5_000 },
    );
  });

  it('matches the usual shapes', () => {
    expect(globMatcher('tasks:agent:42:*')('tasks:agent:42:open')).toBe(true);
    expect(globMatcher('tasks:agent:42:*')('tasks:agent:421:open')).toBe(false);
    expect(globMatcher('metrics:agent:*')('metrics:agent:a1:daily')).toBe(true);
    expect(globMatcher('h?llo')('hello')).toBe(true);
    expect(globMatcher('h[^e]llo')('hello')).toBe(false);
    expect(globMatcher('h[a-b]llo')('hbllo')).toBe(true);
  });

  it('does not let an escaped tenant id widen the match', () => {
    const match = globMatcher(`t:${escapeGlob('acme*')}:*`);
    expect(match('t:acme*:user:1')).toBe(true);
    expect(match('t:acme-corp:user:1')).toBe(false);
    expect(globMatcher(`t:${escapeGlob('[x]')}:*`)('t:x:user:1')).toBe(false);
    expect(globMatcher(`t:${escapeGlob('a?c')}:*`)('t:abc:user:1')).toBe(false);
  });

  it('never matches an empty key, even with *', () => {
    expect(globMatcher('*')('')).toBe(false);
    expect(globMatcher('')('')).toBe(true);
  });

  it('compares UTF-8 bytes, as Redis does (? is one byte)', () => {
    expect(globMatcher('?')('é')).toBe(false);
    expect(globMatcher('??')('é')).toBe(true);
  });

  it('gives up on abusive patterns quickly', () => {
    const started = performance.now();
    expect(globMatcher(`${'*a'.repeat(30)}b`)('a'.repeat(60))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
