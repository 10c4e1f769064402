import { memoryTier } from '@tiercache/l1';
import { fuzzRuns, fuzzTimeout, oddValue, optionRejection, withField } from '@tiercache/test-utils';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CacheManager } from './cache-manager.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import type { CacheManagerOptions, GetOptions } from './options.js';
import { MapTier } from './test-support/index.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const RUNS = fuzzRuns(200);
/** Node's setTimeout fires after 1 ms for any delay above this (with only a warning). */
const MAX_TIMER_MS = 2_147_483_647;

const isFn = (v: unknown): boolean => typeof v === 'function';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const positiveFinite = (v: unknown): boolean => isNum(v) && v > 0 && Number.isFinite(v);
const timerMs = (v: unknown): boolean => positiveFinite(v) && (v as number) <= MAX_TIMER_MS;
/** zod (and the per-call check) read `{ lockTtl?, … }` from any non-array object: `new Date()` is `{}`. */
const emptyObject = (v: unknown): boolean =>
  isObj(v) && !Array.isArray(v) && Object.keys(v).length === 0;
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);

/** Constructor options, from the zod schema in options.ts. */
const FIELDS: Record<string, (v: unknown) => boolean> = {
  l1: opt(
    (v) =>
      has(v, 'get', 'getMany', 'set', 'delete', 'clear') && isObj(v) && typeof v.name === 'string',
  ),
  l2: opt(
    (v) =>
      has(v, 'get', 'getMany', 'set', 'delete', 'clear') && isObj(v) && typeof v.name === 'string',
  ),
  ttl: opt(positiveFinite),
  jitter: opt((v) => isNum(v) && v >= 0 && v <= 1),
  negativeTtl: opt(positiveFinite),
  maxStale: opt((v) => isNum(v) && v >= 0 && Number.isFinite(v)),
  softTimeout: opt(
    (v) => isNum(v) && v >= 0 && (v <= MAX_TIMER_MS || v === Number.POSITIVE_INFINITY),
  ),
  hardTimeout: opt(timerMs),
  earlyRefresh: opt((v) => typeof v === 'boolean'),
  'earlyRefresh.beta': positiveFinite,
  locker: opt((v) => has(v, 'acquire')),
  stampede: opt((v) => typeof v === 'boolean' || emptyObject(v)),
  'stampede.lockTtl': opt(timerMs),
  'stampede.waitTimeout': opt(timerMs),
  'stampede.pollInterval': opt(timerMs),
  bus: opt((v) => has(v, 'publish', 'subscribe')),
  tagVersions: opt((v) => has(v, 'get', 'invalidate')),
  // true needs a versioned l2; the fuzzed options have none.
  versionedWrites: opt((v) => v === false),
  redoFailedDeletes: opt((v) => typeof v === 'boolean' || emptyObject(v)),
  'redoFailedDeletes.interval': opt(timerMs),
  'redoFailedDeletes.maxKeys': opt((v) => Number.isSafeInteger(v) && (v as number) > 0),
  matchPattern: opt(isFn),
  clock: opt(isFn),
  random: opt(isFn),
  logger: opt((v) => has(v, 'warn', 'error')),
};

/** Per-call options of get/set, from checkCallOptions. */
const CALL_FIELDS: Record<string, (v: unknown) => boolean> = {
  ttl: opt(positiveFinite),
  negativeTtl: opt(positiveFinite),
  hardTimeout: opt(timerMs),
  l1Ttl: opt(positiveFinite),
  jitter: opt((v) => isNum(v) && v >= 0 && v <= 1),
  maxStale: opt((v) => isNum(v) && v >= 0 && Number.isFinite(v)),
  softTimeout: opt(
    (v) => isNum(v) && v >= 0 && (v <= MAX_TIMER_MS || v === Number.POSITIVE_INFINITY),
  ),
  earlyRefresh: opt((v) => typeof v === 'boolean'),
  'earlyRefresh.beta': positiveFinite,
  'policy.ttl': positiveFinite,
  // get() reads `{ lockTtl?, … }` from any object, an array included.
  stampede: opt((v) => typeof v === 'boolean' || isObj(v)),
  'stampede.lockTtl': opt(timerMs),
  'stampede.waitTimeout': opt(timerMs),
  'stampede.pollInterval': opt(timerMs),
  tags: opt((v) => Array.isArray(v) && v.every((t) => typeof t === 'string' && t !== '')),
};

const logger = { warn: () => {}, error: () => {} };

describe('CacheManager options (fuzz)', () => {
  it.each(Object.keys(FIELDS))(
    '%s: every wrong type or out-of-range value throws InvalidOptionsError naming it',
    (field) => {
      const valid = FIELDS[field]!;
      fc.assert(
        fc.property(
          oddValue.filter((v) => !valid(v)),
          (value) => {
            const result = optionRejection(
              () => new CacheManager(withField({}, field, value) as CacheManagerOptions),
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
            () => new CacheManager({ [name]: value } as CacheManagerOptions),
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

  // Regression (found by the properties above): a delay above 2^31 − 1 ms makes Node's
  // setTimeout fire after 1 ms, so `hardTimeout: 3e9` timed every load out at once.
  it.each(['hardTimeout', 'softTimeout', 'stampede.lockTtl', 'stampede.waitTimeout'])(
    '%s above 2^31 - 1 ms is refused (setTimeout would fire after 1 ms)',
    (field) => {
      expect(() => new CacheManager(withField({}, field, 3e9) as CacheManagerOptions)).toThrow(
        InvalidOptionsError,
      );
    },
  );
});

describe('CacheManager per-call options (fuzz)', () => {
  let cache: CacheManager;
  beforeEach(() => {
    cache = new CacheManager({ l1: new MapTier('l1'), clock: () => 0, logger });
  });
  afterEach(async () => {
    await cache.close();
  });

  it.each(Object.keys(CALL_FIELDS))(
    '%s: get rejects with InvalidOptionsError naming it, and never calls the loader',
    async (field) => {
      const valid = CALL_FIELDS[field]!;
      const loader = vi.fn(() => 1);
      await fc.assert(
        fc.asyncProperty(
          oddValue.filter((v) => !valid(v)),
          async (value) => {
            let thrown: unknown;
            try {
              await cache.get('k', loader, withField({}, field, value) as GetOptions);
            } catch (error) {
              thrown = error;
            }
            const result = optionRejection(
              () => {
                if (thrown !== undefined) throw thrown;
              },
              InvalidOptionsError,
              'E_INVALID_OPTIONS',
              field,
            );
            expect(result).toEqual({ ok: true });
          },
        ),
        { numRuns: RUNS },
      );
      expect(loader).not.toHaveBeenCalled();
    },
  );

  it('a non-object options argument rejects with InvalidOptionsError', async () => {
    await fc.assert(
      fc.asyncProperty(
        oddValue.filter((v) => v !== undefined && (typeof v !== 'object' || v === null)),
        async (value) => {
          await expect(cache.get('k', () => 1, value as GetOptions)).rejects.toBeInstanceOf(
            InvalidOptionsError,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});

const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

/** Keys: anything JavaScript calls a string, including lone surrogates and 1 MiB keys. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.constantFrom('\ud800', 'a\udc00', '\u0000', '\n\t', '*', '[a-z]', 'x'.repeat(1 << 20)),
  // Well-formed surrogate pairs are fine; only lone halves are refused.
  fc.constantFrom('\ud83d\ude00', 'a\ud800\udc00'),
);

describe('CacheManager keys (fuzz)', () => {
  it('a non-empty string key is loaded once and then served from L1', async () => {
    const cache = new CacheManager({ l1: memoryTier({ max: 100 }), clock: () => 0, logger });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyString, fc.jsonValue(), async (key, value) => {
        fc.pre(wellFormed(key));
        const loader = vi.fn(() => value);
        expect(await cache.get(key, loader)).toEqual(value);
        expect(await cache.get(key, () => `other ${n++}`)).toEqual(value);
        expect(loader).toHaveBeenCalledTimes(1);
        await cache.delete(key);
      }),
      { numRuns: RUNS },
    );
    await cache.close();
  });

  it('anything else (lone surrogates included) is rejected with InvalidKeyError by get, set, delete and getMany', async () => {
    const cache = new CacheManager({ l1: memoryTier({ max: 100 }), clock: () => 0, logger });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          oddValue.filter((v) => typeof v !== 'string' || v === ''),
          anyString.filter((s) => !wellFormed(s)),
        ),
        async (key) => {
          const loader = vi.fn(() => 1);
          await expect(cache.get(key as string, loader)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(cache.set(key as string, 1)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(cache.delete(key as string)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(cache.getMany([key as string], () => ({}))).rejects.toBeInstanceOf(
            InvalidKeyError,
          );
          expect(loader).not.toHaveBeenCalled();
        },
      ),
      { numRuns: RUNS },
    );
    await cache.close();
  });
});
