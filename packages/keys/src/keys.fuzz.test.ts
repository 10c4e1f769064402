import { fuzzRuns, fuzzTimeout, oddValue, optionRejection } from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { CACHE_KEYS, createCacheKeys } from './cache-keys.js';
import { globFor, hashedKey, key, parseKey, tenantKey, tenantPattern } from './default-builder.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import { escapeGlob } from './glob.js';
import { globMatcher } from './glob-match.js';
import { hashParts } from './hashed-key.js';
import { createKeyBuilder } from './key-builder.js';
import { redisGlobMatch } from './redis-glob.test-helper.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const RUNS = fuzzRuns(500);

/** Anything a caller could pass as a segment: any unicode, lone surrogates, controls, huge. */
const anySegment: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '\ud800',
      'a\udc00',
      '\u0000',
      '\u007f',
      '\u0085',
      ' ',
      '\u3000',
      '%',
      '%zz',
      ':',
      '*',
      '?',
      '[a-z]',
      '\\',
      '{tag}',
      'x'.repeat(1 << 20),
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

/** The outcome of building a key: the key, or the InvalidKeyError (anything else fails). */
function build(f: () => string): { key: string } | 'invalid' {
  try {
    return { key: f() };
  } catch (error) {
    if (error instanceof InvalidKeyError && error.code === 'E_INVALID_KEY') return 'invalid';
    throw error;
  }
}

const isSegment = (s: unknown): boolean =>
  (typeof s === 'string' && s !== '' && !/[\p{Cs}\p{Cc}]/u.test(s)) ||
  (typeof s === 'number' && Number.isFinite(s));

describe('key builders (fuzz)', () => {
  it('key(): an InvalidKeyError, or a key that parses back to the segments', () => {
    fc.assert(
      fc.property(fc.array(anySegment, { maxLength: 4 }), (segments) => {
        const out = build(() => key(...(segments as string[])));
        const allValid = segments.length > 0 && segments.every(isSegment);
        if (out === 'invalid') {
          // Valid segments still fail when the key may exceed maxLength (an escape is 3 bytes).
          const bound = allValid
            ? segments.reduce<number>((n, s) => n + 3 * Buffer.byteLength(String(s)) + 1, 0)
            : Number.POSITIVE_INFINITY;
          expect(bound).toBeGreaterThan(1024);
          return;
        }
        expect(segments.every(isSegment)).toBe(true);
        expect(Buffer.byteLength(out.key)).toBeLessThanOrEqual(1024);
        expect(parseKey(out.key)).toEqual(segments.map(String));
      }),
      { numRuns: RUNS },
    );
  });

  it('every CACHE_KEYS family, tenantKey, hashedKey and globFor: InvalidKeyError or a string', () => {
    const families = Object.entries(CACHE_KEYS) as [string, (...a: unknown[]) => string][];
    fc.assert(
      fc.property(
        fc.constantFrom(...families),
        fc.array(anySegment, { minLength: 0, maxLength: 3 }),
        ([, family], args) => {
          const out = build(() => family(...args));
          if (out !== 'invalid') expect(typeof out.key).toBe('string');
          build(() => tenantKey(args[0] as string, args[1] as string, args[2] as string));
          build(() => hashedKey(args[0] as string, ...(args.slice(1) as string[])));
          build(() => globFor(args as string[]));
          build(() => tenantPattern(args[0] as string));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('distinct segment lists give distinct keys, and distinct part lists distinct hashes', () => {
    const seg = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(seg, { minLength: 1, maxLength: 3 }),
        fc.array(seg, { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 3 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 3 }),
        (a, b, p, q) => {
          const same = (x: string[], y: string[]) =>
            x.length === y.length && x.every((s, i) => s === y[i]);
          const ka = build(() => key(...a));
          const kb = build(() => key(...b));
          if (ka !== 'invalid' && kb !== 'invalid') {
            expect(ka.key === kb.key).toBe(same(a, b));
          }
          expect(hashParts(...p) === hashParts(...q)).toBe(same(p, q));
          expect(hashedKey('q', ...p) === hashedKey('q', ...q)).toBe(same(p, q));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** Tenant ids chosen to attack a glob: metacharacters, separators, prefixes of each other. */
const tenantId = fc.oneof(
  fc.string({
    unit: fc.constantFrom('a', 'b', '*', '?', '[', ']', '\\', ':', '{', '}', '^', '-', '%', ' '),
    minLength: 1,
    maxLength: 6,
  }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.constantFrom('a', 'a:b', 'a*', '*', '?', '[a]', 'a\\', 'a%3Ab', 'a b', '{a}'),
);

describe('tenant isolation and glob injection (fuzz, in process)', () => {
  it("tenantPattern(A) matches every key of A and no key of another tenant (Redis' matcher)", () => {
    fc.assert(
      fc.property(
        tenantId,
        tenantId,
        fc.string({ minLength: 1, maxLength: 5 }),
        fc.string({ minLength: 1, maxLength: 5 }),
        (a, b, type, id) => {
          fc.pre(isSegment(type) && isSegment(id));
          const pattern = tenantPattern(a);
          const mine = tenantKey(a, type, id);
          const theirs = tenantKey(b, type, id);
          expect(redisGlobMatch(pattern, mine)).toBe(true);
          expect(globMatcher(pattern)(mine)).toBe(true);
          expect(redisGlobMatch(pattern, theirs)).toBe(a === b);
          expect(globMatcher(pattern)(theirs)).toBe(a === b);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('escapeGlob(s) + "*" matches exactly the strings that start with s', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (s, t) => {
          // Lone surrogates become U+FFFD in UTF-8 (Redis compares bytes), so compare those.
          const bytes = (x: string) => Buffer.from(x, 'utf8');
          const candidate = `${s}${t}`;
          expect(redisGlobMatch(`${escapeGlob(s)}*`, candidate)).toBe(candidate !== '');
          const other = `${t}${s}`;
          const startsWith = bytes(other).subarray(0, bytes(s).length).equals(bytes(s));
          expect(redisGlobMatch(`${escapeGlob(s)}*`, other)).toBe(startsWith && other !== '');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('createKeyBuilder options (fuzz)', () => {
  const FIELDS: Record<string, (v: unknown) => boolean> = {
    separator: (v) =>
      v === undefined || (typeof v === 'string' && /^[!-~]$/.test(v) && !/^[A-Za-z0-9%]$/.test(v)),
    maxLength: (v) =>
      v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1),
    prefix: (v) => v === undefined || isSegment(v) || (Array.isArray(v) && v.every(isSegment)),
  };

  it.each(Object.keys(FIELDS))(
    '%s: a wrong value throws InvalidOptionsError naming it (createKeyBuilder and createCacheKeys)',
    (field) => {
      const valid = FIELDS[field]!;
      fc.assert(
        fc.property(
          fc
            .oneof(oddValue, anySegment, fc.array(anySegment, { maxLength: 3 }))
            .filter((v) => !valid(v)),
          (value) => {
            for (const factory of [createKeyBuilder, createCacheKeys]) {
              const result = optionRejection(
                () => factory({ [field]: value }),
                InvalidOptionsError,
                'E_INVALID_OPTIONS',
                field,
              );
              expect(result).toEqual({ ok: true });
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  it('a builder with any valid separator and prefix still round-trips and isolates tenants', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...'!#$&*+,-./:;<=>?@[\\]^_`{|}~'),
        fc.array(tenantId, { maxLength: 2 }),
        tenantId,
        tenantId,
        (separator, prefix, a, b) => {
          const keys = createKeyBuilder({ separator, prefix });
          const mine = keys.tenantKey(a, 'user', '1');
          expect(keys.parse(mine)).toEqual(['t', a, 'user', '1']);
          expect(redisGlobMatch(keys.tenantPattern(a), mine)).toBe(true);
          expect(redisGlobMatch(keys.tenantPattern(a), keys.tenantKey(b, 'user', '1'))).toBe(
            a === b,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});
