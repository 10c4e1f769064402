import { fuzzRuns, fuzzTimeout, oddValue } from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { adaptiveTtl } from './adaptive-ttl.js';
import { InvalidOptionsError, InvalidPolicyError, InvalidTtlError } from './errors.js';
import { jitter } from './jitter.js';
import { defineCachePolicies } from './policies.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const RUNS = fuzzRuns(300);
const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Runs `f`; returns the error class it threw, or 'ok'. Anything but `allowed` fails the test. */
function outcome(f: () => unknown, ...allowed: (abstract new (...a: never[]) => Error)[]): string {
  try {
    f();
    return 'ok';
  } catch (error) {
    const match = allowed.find((c) => error instanceof c);
    if (match === undefined) throw error;
    expect((error as { code?: unknown }).code).toMatch(/^E_/);
    return match.name;
  }
}

describe('ttl helpers (fuzz)', () => {
  it('jitter(ttl, options): an integer in [ttl - ttl*ratio, ttl], or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(oddValue, fc.integer({ min: 1, max: 2 ** 40 })),
        fc.oneof(oddValue, fc.record({ ratio: fc.oneof(oddValue, fc.double({ min: 0, max: 1 })) })),
        (ttl, options) => {
          let result: number | undefined;
          const name = outcome(
            () => {
              result = jitter(ttl as number, options as never);
            },
            InvalidTtlError,
            InvalidOptionsError,
          );
          if (!posInt(ttl)) expect(name).toBe('InvalidTtlError');
          if (name !== 'ok') return;
          const ratio = (options as { ratio?: number } | null)?.ratio ?? 0.1;
          expect(Number.isSafeInteger(result)).toBe(true);
          expect(result).toBeLessThanOrEqual(ttl as number);
          expect(result).toBeGreaterThanOrEqual(
            Math.max(1, (ttl as number) - Math.floor((ttl as number) * ratio)),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('adaptiveTtl(lastModified, { now }): one of 60/300/1800/3600, or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(oddValue, fc.date({ noInvalidDate: false }), fc.integer()),
        fc.oneof(
          oddValue,
          fc.record({
            now: fc.oneof(
              oddValue,
              fc.integer(),
              fc.constant(() => 0),
            ),
          }),
        ),
        (lastModified, options) => {
          let result: number | undefined;
          const name = outcome(
            () => {
              result = adaptiveTtl(lastModified as number, options as never);
            },
            InvalidTtlError,
            InvalidOptionsError,
          );
          if (name === 'ok') expect([60, 300, 1800, 3600]).toContain(result);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('defineCachePolicies: a wrong field throws InvalidPolicyError naming policy and field', () => {
    const field = fc.constantFrom('ttl', 'key', 'enabled', 'invalidateOn');
    const valid: Record<string, (v: unknown) => boolean> = {
      ttl: posInt,
      key: (v) => typeof v === 'function',
      enabled: (v) => v === undefined || typeof v === 'boolean',
      invalidateOn: (v) =>
        v === undefined || (Array.isArray(v) && v.every((e) => typeof e === 'string' && e !== '')),
    };
    fc.assert(
      fc.property(field, oddValue, fc.string({ minLength: 1, maxLength: 8 }), (f, value, name) => {
        fc.pre(!valid[f]!(value) && name !== '__proto__');
        const policy = { ttl: 60, key: () => 'k', [f]: value };
        expect(() => defineCachePolicies({ [name]: policy })).toThrow(InvalidPolicyError);
        try {
          defineCachePolicies({ [name]: policy });
        } catch (error) {
          expect((error as Error).message).toContain(f);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
