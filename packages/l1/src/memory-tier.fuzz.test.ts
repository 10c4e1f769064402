import { fuzzRuns, fuzzTimeout, oddValue, optionRejection, withField } from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
import { memoryTier } from './memory-tier.js';
import { MAX_ENTRIES } from './options.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const isPositiveInt = (v: unknown): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isFunction = (v: unknown): boolean => typeof v === 'function';

/** Every option and what the README accepts for it; `undefined` means "the default". */
const FIELDS: Record<string, (v: unknown) => boolean> = {
  max: (v) => v === undefined || (isPositiveInt(v) && (v as number) <= MAX_ENTRIES),
  maxSize: (v) => v === undefined || v === false || isPositiveInt(v),
  // With the default maxSize (50 MiB) an entry may not be larger than that.
  maxEntrySize: (v) => v === undefined || (isPositiveInt(v) && (v as number) <= 52_428_800),
  sizeCalculation: (v) => v === undefined || isFunction(v),
  ttl: (v) => v === undefined || isPositiveInt(v),
  clone: (v) => v === undefined || v === 'none' || v === 'freeze' || v === 'structured',
  clock: (v) => v === undefined || isFunction(v),
};

const RUNS = fuzzRuns(200);

describe('memoryTier options (fuzz)', () => {
  it.each(Object.keys(FIELDS))(
    '%s: every wrong type or out-of-range value throws InvalidOptionsError naming it',
    (field) => {
      const valid = FIELDS[field]!;
      fc.assert(
        fc.property(
          oddValue.filter((v) => !valid(v)),
          (value) => {
            const result = optionRejection(
              () => memoryTier(withField({}, field, value)),
              InvalidOptionsError,
              'E_INVALID_OPTIONS',
              field,
            );
            expect(result).toEqual({ ok: true });
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  it('an unknown option is rejected by name', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/).filter((k) => !(k in FIELDS)),
        oddValue,
        (name, value) => {
          const result = optionRejection(
            () => memoryTier({ [name]: value } as never),
            InvalidOptionsError,
            'E_INVALID_OPTIONS',
            name,
          );
          expect(result).toEqual({ ok: true });
        },
      ),
      { numRuns: RUNS },
    );
  });

  // Regression (found by the property above): lru-cache preallocates `max` slots, so
  // `max: 2 ** 26` killed the process with an out-of-memory abort and `2 ** 27` threw a bare
  // RangeError from inside lru-cache.
  it.each([2 ** 24 + 1, 2 ** 26, 2 ** 27, 2 ** 31, Number.MAX_SAFE_INTEGER])(
    'max: %d is refused up front instead of crashing the process',
    (max) => {
      expect(() => memoryTier({ max })).toThrow(InvalidOptionsError);
      expect(() => memoryTier({ max })).toThrow(/options\.max/);
    },
  );
});

/** Keys no other tier accepts as they are: lone surrogates, control characters, huge ones. */
const anyKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.constantFrom('', '\ud800', '\udc00x', '\u0000', '\n', '*', 'a'.repeat(1 << 20)),
);

describe('memoryTier keys (fuzz)', () => {
  it('any string is a key: set then get returns the value, and distinct keys stay apart', () => {
    fc.assert(
      fc.property(anyKey, anyKey, fc.jsonValue(), (a, b, value) => {
        fc.pre(a !== b);
        const tier = memoryTier({ max: 10 });
        tier.set(a, value);
        tier.set(b, 'other');
        expect(tier.get(a)).toBe(value);
        expect(tier.get(b)).toBe('other');
        expect(tier.delete(a)).toBe(true);
        expect(tier.get(a)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('a ttl that is not a positive number throws InvalidTtlError (never a TypeError)', () => {
    const tier = memoryTier({ max: 10 });
    fc.assert(
      fc.property(
        oddValue.filter(
          (v) =>
            v !== undefined && !(typeof v === 'number' && v > 0 && v !== Number.POSITIVE_INFINITY),
        ),
        (ttl) => {
          let thrown: unknown;
          try {
            tier.set('k', 1, ttl as number);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(InvalidTtlError);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** Values JSON cannot represent; the memory tier holds them as they are (see README "Values"). */
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { name: 'loop' };
  o.self = o;
  return o;
}

const awkward = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  fc.constantFrom<unknown>(
    10n,
    new Date(0),
    Buffer.from('bytes'),
    new Uint8Array([1, 2, 3]),
    new Map([[1, { a: 1 }]]),
    new Set([1, 2]),
    { u: undefined, n: Number.NaN, z: -0 },
    Symbol('s'),
    () => 1,
    deep(10_000),
    cyclic(),
    'x'.repeat(4 << 20),
  ),
);

describe('memoryTier values (fuzz)', () => {
  it("clone 'none' returns the very value stored, whatever it is", () => {
    const tier = memoryTier({ max: 10 });
    fc.assert(
      fc.property(awkward, (value) => {
        fc.pre(value !== undefined);
        tier.set('k', value);
        expect(tier.get('k')).toBe(value);
      }),
      { numRuns: RUNS },
    );
  });

  it("clone 'structured' stores a structuredClone or throws InvalidValueError, nothing else", () => {
    const tier = memoryTier({ max: 10, clone: 'structured' });
    fc.assert(
      fc.property(awkward, (value) => {
        fc.pre(value !== undefined);
        let expected: unknown;
        let cloneable = true;
        try {
          expected = structuredClone(value);
        } catch {
          cloneable = false;
        }
        tier.delete('k');
        if (cloneable) {
          tier.set('k', value);
          expect(tier.get('k')).toEqual(expected);
        } else {
          expect(() => tier.set('k', value)).toThrow(InvalidValueError);
          expect(tier.get('k')).toBeUndefined();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("clone 'freeze' stores any value (cyclic, deep, Map, Buffer) and returns it", () => {
    const tier = memoryTier({ max: 10, clone: 'freeze' });
    fc.assert(
      fc.property(awkward, (value) => {
        fc.pre(value !== undefined);
        tier.set('k', value);
        expect(tier.get('k')).toBe(value);
      }),
      { numRuns: RUNS },
    );
  });

  it('undefined is never stored: InvalidValueError', () => {
    expect(() => memoryTier().set('k', undefined)).toThrow(InvalidValueError);
  });
});
