import { fuzzRuns, fuzzTimeout, oddValue, optionRejection, withField } from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
import type { RedisTierOptions } from './options.js';
import { redisTier } from './redis-tier.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const RUNS = fuzzRuns(200);
const MAX_TIMER_MS = 2_147_483_647;

/** Never connected: every command would reject, but these properties send none. */
const client = {
  getBuffer: () => Promise.reject(new Error('not connected')),
  mgetBuffer: () => Promise.reject(new Error('not connected')),
  set: () => Promise.reject(new Error('not connected')),
  unlink: () => Promise.reject(new Error('not connected')),
  scanBuffer: () => Promise.reject(new Error('not connected')),
  on: () => {},
};
const logger = { warn: () => {}, error: () => {} };
const base = { client, logger } as unknown as Record<string, unknown>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const timerMs = (v: unknown): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= MAX_TIMER_MS;
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);

/**
 * Every option and what the README accepts. `client` and `connection` are checked with the
 * other one absent/present so that "exactly one of them" holds for the valid values.
 */
const FIELDS: Record<string, (v: unknown) => boolean> = {
  // `client` is given in `base`: a value is valid only as another client (undefined = none).
  client: (v) => has(v, 'getBuffer', 'mgetBuffer', 'set', 'unlink', 'scanBuffer'),
  // Given together with `client`, any connection at all is an error.
  connection: (v) => v === undefined,
  prefix: opt((v) => typeof v === 'string'),
  codec: opt((v) => has(v, 'encode', 'decode', 'encodeAsync', 'decodeAsync')),
  commandTimeout: opt(timerMs),
  circuitBreaker: opt(
    (v) => v === false || (isObj(v) && !Array.isArray(v) && Object.keys(v).length === 0),
  ),
  'circuitBreaker.failureThreshold': opt(
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0,
  ),
  'circuitBreaker.resetTimeout': opt(timerMs),
  batch: opt((v) => typeof v === 'boolean'),
  checkEvictionPolicyOnStart: opt((v) => typeof v === 'boolean'),
  versionTtl: opt(timerMs),
  clock: opt((v) => typeof v === 'function'),
  logger: opt((v) => has(v, 'warn', 'error')),
};

describe('redisTier options (fuzz)', () => {
  it.each(Object.keys(FIELDS))(
    '%s: every wrong type or out-of-range value throws InvalidOptionsError naming it',
    (field) => {
      const valid = FIELDS[field]!;
      fc.assert(
        fc.property(
          oddValue.filter((v) => !valid(v)),
          (value) => {
            const result = optionRejection(
              () => redisTier(withField(base, field, value) as RedisTierOptions),
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
            () => redisTier({ ...base, [name]: value } as RedisTierOptions),
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
});

describe('redisTier writes (fuzz)', () => {
  const tier = redisTier(base as RedisTierOptions);

  it('a ttl that is not a positive safe integer rejects with InvalidTtlError, before any command', async () => {
    await fc.assert(
      fc.asyncProperty(
        oddValue.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)),
        async (ttl) => {
          await expect(tier.set('k', 1, ttl as number)).rejects.toBeInstanceOf(InvalidTtlError);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('undefined is never written: InvalidValueError', async () => {
    await expect(tier.set('k', undefined, 1000)).rejects.toBeInstanceOf(InvalidValueError);
  });

  // Regression (found by the property above): the error message was built with String(ttl),
  // which throws a TypeError for a null-prototype object.
  it('a null-prototype ttl is an InvalidTtlError, not a TypeError', async () => {
    await expect(tier.set('k', 1, Object.create(null))).rejects.toBeInstanceOf(InvalidTtlError);
  });
});
