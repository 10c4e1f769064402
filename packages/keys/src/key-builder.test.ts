import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeSegment,
  globFor,
  key,
  parseKey,
  tenantKey,
  tenantPattern,
} from './default-builder.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import { createKeyBuilder } from './key-builder.js';
import { redisGlobMatch } from './redis-glob.test-helper.js';

const UUID = '550e8400-e29b-41d4-a716-446655440000';

// Segments biased towards the separator, the escape character and what an escape looks like,
// plus arbitrary Unicode (astral planes included). Control characters are mapped away here
// because they are rejected; that rejection has its own tests.
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(':', '%', '3', 'A', 'a', '2', '5', ' ', '.', '-') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const segment = fc
  .string({ unit, minLength: 1, maxLength: 8 })
  .map((s) => s.replace(/\p{Cc}/gu, '_'));
const segments = fc.array(segment, { minLength: 1, maxLength: 5 });

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('key', () => {
  it('joins ordinary ids with ":" unchanged', () => {
    expect(key('stats', 'agent', UUID)).toBe(`stats:agent:${UUID}`);
  });

  it('keeps alphanumerics, "-", "_" and "." as they are', () => {
    expect(key('a-b_c.d', 'AZaz09')).toBe('a-b_c.d:AZaz09');
  });

  it('formats finite numbers with String()', () => {
    expect(key('user', 42, -1.5)).toBe('user:42:-1.5');
  });

  it('percent-encodes the separator inside a segment', () => {
    expect(key('agent', '1:stats')).toBe('agent:1%3Astats');
  });

  it('percent-encodes the escape character itself', () => {
    expect(key('q', '100%3A')).toBe('q:100%253A');
  });

  it('percent-encodes whitespace instead of rejecting it', () => {
    expect(key('city', 'New York', 'a\u00a0b', 'x\u3000y')).toBe(
      'city:New%20York:a%C2%A0b:x%E3%80%80y',
    );
  });

  it('keeps other Unicode as it is', () => {
    expect(key('name', 'Zoë', '东京', '😀')).toBe('name:Zoë:东京:😀');
  });

  it('keeps ["a:b", "c"] and ["a", "b:c"] apart', () => {
    expect(key('a:b', 'c')).not.toBe(key('a', 'b:c'));
  });

  it('maps distinct segment lists to distinct keys, and equal lists to equal keys', () => {
    fc.assert(
      fc.property(segments, fc.nat(4), segments, (a, mode, other) => {
        // Besides an unrelated list, try the classic confusions: the same text split
        // differently, and segments that already look escaped.
        const joined = a.join(':');
        const b =
          mode === 0
            ? other
            : mode === 1
              ? [joined]
              : mode === 2
                ? joined.split(':').filter((s) => s !== '')
                : mode === 3
                  ? a.map((s) => escapeSegment(s))
                  : [...a];
        fc.pre(b.length > 0);
        const sameList = a.length === b.length && a.every((s, i) => s === b[i]);
        expect(key(...a) === key(...b)).toBe(sameList);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every non-empty string without control characters or lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), (s) => {
        const valid = !/[\p{Cc}]/u.test(s);
        let threw = false;
        try {
          key(s);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidKeyError);
          threw = true;
        }
        expect(threw).toBe(!valid);
      }),
      { numRuns: 1000 },
    );
  });

  describe('rejects', () => {
    it('a call without segments', () => {
      expect(() => key()).toThrow(InvalidKeyError);
    });

    it('an empty segment, naming its index', () => {
      expect(() => key('agent', '')).toThrow(
        /Invalid key segment at index 1 \(""\): segments must not be empty/,
      );
    });

    it.each([
      ['NUL', '\u0000'],
      ['newline', 'a\nb'],
      ['tab', 'a\tb'],
      ['DEL', '\u007f'],
      ['C1 NEL', '\u0085'],
    ])('a control character (%s), naming the code point', (_, s) => {
      const error = catchError(() => key('x', s));
      expect(error).toBeInstanceOf(InvalidKeyError);
      expect((error as InvalidKeyError).message).toMatch(/index 1 .*control character U\+00/);
    });

    it('a lone surrogate, which would become U+FFFD on the wire', () => {
      expect(() => key('x', 'a\ud800')).toThrow(/lone surrogate U\+D800/);
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['undefined', undefined],
      ['null', null],
      ['an object', {}],
      ['a bigint', 1n],
      ['a boolean', true],
    ])('a segment that is %s', (_, value) => {
      expect(() => key('x', value as unknown as string)).toThrow(
        /index 1 .*expected a string or a finite number/,
      );
    });

    it('a key longer than 1024 UTF-8 bytes by default', () => {
      expect(() => key('x', 'y'.repeat(1023))).toThrow(/1025 bytes, over the 1024-byte limit/);
    });

    it('counts bytes, not characters, against the limit', () => {
      // 400 × "东" is 400 characters but 1200 bytes.
      expect(() => key('东'.repeat(400))).toThrow(/1200 bytes/);
    });
  });

  it('accepts a key of exactly maxLength bytes', () => {
    expect(key('x', 'y'.repeat(1022))).toHaveLength(1024);
  });

  it('carries the E_INVALID_KEY code', () => {
    const error = catchError(() => key(''));
    expect(error).toMatchObject({ name: 'InvalidKeyError', code: 'E_INVALID_KEY' });
    expect(InvalidKeyError.code).toBe('E_INVALID_KEY');
  });
});

describe('parseKey', () => {
  it('returns the segments of a key', () => {
    expect(parseKey('metrics:agent:a%3Ab:daily')).toEqual(['metrics', 'agent', 'a:b', 'daily']);
  });

  it('inverts key() for every valid segment list', () => {
    fc.assert(
      fc.property(segments, (a) => {
        expect(parseKey(key(...a))).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts lower-case escapes', () => {
    expect(parseKey('a%3ab')).toEqual(['a:b']);
  });

  it('rejects an empty segment', () => {
    expect(() => parseKey('a::b')).toThrow(/segment 1 is empty/);
  });

  it('rejects a malformed escape and keeps the cause', () => {
    const error = catchError(() => parseKey('a:%zz'));
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect((error as Error).message).toMatch(/segment 1 has a malformed % escape/);
    expect((error as Error).cause).toBeInstanceOf(URIError);
  });
});

describe('globFor', () => {
  it('matches the keys under the given leading segments', () => {
    expect(globFor(['metrics', 'agent', 'a1'])).toBe('metrics:agent:a1:*');
  });

  it('escapes segment values for the key and then for the glob', () => {
    expect(globFor(['t', 'a*:b'])).toBe('t:a\\*%3Ab:*');
  });

  it('matches a key exactly when the list is a proper prefix of its segments', () => {
    fc.assert(
      fc.property(segments, segments, fc.boolean(), (head, rest, extend) => {
        const full = extend ? [...head, ...rest] : rest;
        const isUnder =
          full.length > head.length && head.every((segment, i) => segment === full[i]);
        expect(redisGlobMatch(globFor(head), key(...full))).toBe(isUnder);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an empty list without a prefix (it would match every key)', () => {
    expect(() => globFor([])).toThrow(/bare "\*" matches every key/);
  });
});

describe('tenantKey and tenantPattern', () => {
  it("builds the guide's t:<tenant>:<type>:<id>", () => {
    expect(tenantKey('acme-corp', 'user', 'user-123')).toBe('t:acme-corp:user:user-123');
  });

  it('builds a SCAN pattern for one tenant', () => {
    expect(tenantPattern('acme')).toBe('t:acme:*');
  });

  it("matches a tenant's keys and no other tenant's", () => {
    fc.assert(
      fc.property(segment, segment, segment, segment, (a, b, type, id) => {
        expect(redisGlobMatch(tenantPattern(a), tenantKey(b, type, id))).toBe(a === b);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not let tenant "acme" reach tenant "acme:evil"', () => {
    expect(redisGlobMatch(tenantPattern('acme'), tenantKey('acme:evil', 'user', '1'))).toBe(false);
  });

  it('does not let a tenant named "*" match every tenant', () => {
    expect(redisGlobMatch(tenantPattern('*'), tenantKey('acme', 'user', '1'))).toBe(false);
  });
});

describe('createKeyBuilder', () => {
  it('puts the prefix before every key', () => {
    expect(createKeyBuilder({ prefix: 'app' }).key('user', 1)).toBe('app:user:1');
  });

  it('accepts several prefix segments and escapes each', () => {
    expect(createKeyBuilder({ prefix: ['app', 'v:2'] }).key('user', 1)).toBe('app:v%3A2:user:1');
  });

  it('uses a custom separator and escapes it inside segments', () => {
    const keys = createKeyBuilder({ separator: '/' });
    expect(keys.key('a:b', 'c/d')).toBe('a:b/c%2Fd');
    expect(keys.parse('a:b/c%2Fd')).toEqual(['a:b', 'c/d']);
  });

  it('escapes a separator that encodeURIComponent would leave alone', () => {
    expect(createKeyBuilder({ separator: '.' }).key('v1.2', 'x')).toBe('v1%2E2.x');
  });

  it('counts the prefix against maxLength', () => {
    const keys = createKeyBuilder({ prefix: 'abc', maxLength: 8 });
    expect(keys.key('abcd')).toBe('abc:abcd');
    expect(() => keys.key('abcde')).toThrow(/9 bytes, over the 8-byte limit/);
  });

  it('parses only keys that carry its prefix', () => {
    const keys = createKeyBuilder({ prefix: 'app' });
    expect(keys.parse('app:user:1')).toEqual(['user', '1']);
    expect(() => keys.parse('other:user:1')).toThrow(/does not start with the prefix "app:"/);
  });

  it('allows a glob for everything under its prefix', () => {
    expect(createKeyBuilder({ prefix: 'app' }).globFor([])).toBe('app:*');
  });

  it('puts the prefix before tenant keys and patterns', () => {
    const keys = createKeyBuilder({ prefix: 'app' });
    expect(keys.tenantKey('acme', 'user', 1)).toBe('app:t:acme:user:1');
    expect(keys.tenantPattern('acme')).toBe('app:t:acme:*');
  });

  it('returns plain functions that survive destructuring', () => {
    const { key: build } = createKeyBuilder({ prefix: 'app' });
    expect(build('x')).toBe('app:x');
  });

  it('returns a frozen builder', () => {
    expect(Object.isFrozen(createKeyBuilder())).toBe(true);
  });

  describe('rejects with InvalidOptionsError', () => {
    it.each([
      ['two characters', '::'],
      ['an alphanumeric', 'a'],
      ['the escape character', '%'],
      ['whitespace', ' '],
      ['a non-ASCII character', '·'],
      ['the empty string', ''],
    ])('a separator that is %s', (_, separator) => {
      const error = catchError(() => createKeyBuilder({ separator }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).code).toBe('E_INVALID_OPTIONS');
      expect((error as Error).message).toMatch(/^separator: /);
    });

    it.each([0, -1, 1.5, Number.NaN, '10'])('maxLength %s', (maxLength) => {
      expect(() => createKeyBuilder({ maxLength: maxLength as number })).toThrow(
        /^maxLength: expected a positive integer/,
      );
    });

    it('an invalid prefix segment, keeping the cause', () => {
      const error = catchError(() => createKeyBuilder({ prefix: ['app', ''] }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toMatch(/^prefix: .*index 1/);
      expect((error as Error).cause).toBeInstanceOf(InvalidKeyError);
    });
  });
});
