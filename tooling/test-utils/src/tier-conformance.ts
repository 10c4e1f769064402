import type { CacheTier, TierReadResult } from '@tiercache/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** What a {@link runTierConformance} factory returns: a fresh tier for one test. */
export interface TierConformanceFixture {
  /** The tier under test, empty (or at least without the suite's keys). */
  tier: CacheTier;
  /** Called after each test: close clients, stop servers. */
  cleanup?: () => Promise<void>;
  /**
   * Moves the tier's clock forward. Give it for a tier on a fake clock (the memory tier); omit
   * it for a tier on real time (Redis), and the TTL tests use 50 ms TTLs and poll until the key
   * is gone.
   */
  advanceTime?: (ms: number) => Promise<void>;
}

// Short enough for a real-time tier to expire quickly, long enough to be set and read first.
const SHORT_TTL = 50;
const LONG_TTL = 60_000;
// How long a real-time tier may take to drop an expired key (Redis expires lazily on access,
// so a read after the TTL already misses; the margin is for a loaded CI machine).
const EXPIRY_TIMEOUT = 5_000;

const JSON_VALUES: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['zero', 0],
  ['empty string', ''],
  ['false', false],
  ['true', true],
  ['negative float', -1.5],
  ['max safe integer', Number.MAX_SAFE_INTEGER],
  ['plain string', 'hello'],
  ['unicode string', 'héllo wörld — 你好 🎉 👩‍👩‍👧 e\u0301'],
  ['string with control characters', 'line\nbreak\ttab\u0000nul'],
  ['empty object', {}],
  ['empty array', []],
  ['array of mixed values', [1, 'two', null, false, { three: 3 }, [4]]],
  [
    'nested object',
    { user: { id: 1, name: 'Ada', tags: ['a', 'b'], address: { city: 'London', zip: null } } },
  ],
  ['deeply nested array', [[[[[[[[[['deep']]]]]]]]]]],
];

let testRun = 0;

/**
 * Registers vitest tests that every `CacheTier` must pass: misses, round-trips of JSON values
 * (including the falsy ones, which are hits), overwrite, delete, getMany order, TTL expiry,
 * clear, and typed errors for `undefined` and bad TTLs. Every call is awaited, so synchronous
 * and asynchronous tiers are tested alike. `factory` runs before each test.
 *
 * @example
 * runTierConformance('memoryTier', async () => {
 *   let now = 0;
 *   return {
 *     tier: memoryTier({ clock: () => now }),
 *     advanceTime: async (ms) => { now += ms; },
 *   };
 * });
 */
export function runTierConformance(
  name: string,
  factory: () => Promise<TierConformanceFixture>,
): void {
  describe(`${name} conforms to CacheTier`, () => {
    let fixture: TierConformanceFixture | undefined;
    let tier: CacheTier;
    // Keys unique to each test, so a tier sharing a server with earlier tests sees none of
    // their keys.
    let prefix = '';
    const key = (name: string): string => `${prefix}${name}`;

    beforeEach(async () => {
      testRun++;
      prefix = `conformance:${testRun}:`;
      fixture = await factory();
      tier = fixture.tier;
    });

    afterEach(async () => {
      const current = fixture;
      fixture = undefined;
      await current?.cleanup?.();
    });

    /** Resolves once `k` reads as a miss after its `ttl`; fails if it never does. */
    async function expectExpired(k: string, ttl: number): Promise<void> {
      if (fixture?.advanceTime) {
        await fixture.advanceTime(ttl + 1);
        expect(await tier.get(k)).toBeUndefined();
        return;
      }
      await vi.waitFor(
        async () => {
          expect(await tier.get(k)).toBeUndefined();
        },
        { timeout: EXPIRY_TIMEOUT, interval: 10 },
      );
    }

    it('has a non-empty name', () => {
      expect(typeof tier.name).toBe('string');
      expect(tier.name.length).toBeGreaterThan(0);
    });

    it('returns undefined for a missing key', async () => {
      expect(await tier.get(key('missing'))).toBeUndefined();
    });

    it.each(JSON_VALUES)('round-trips %s through set and get', async (_label, value) => {
      await tier.set(key('value'), value, LONG_TTL);
      expect(await tier.get(key('value'))).toEqual(value);
    });

    it.each(JSON_VALUES)('reads %s as a hit through getMany', async (_label, value) => {
      await tier.set(key('value'), value, LONG_TTL);
      expect(await tier.getMany([key('value')])).toEqual([{ hit: true, value }]);
    });

    it('keeps null, 0, empty string and false as hits, not misses', async () => {
      const falsy = [null, 0, '', false];
      for (const [i, value] of falsy.entries()) await tier.set(key(`falsy${i}`), value, LONG_TTL);
      for (const [i, value] of falsy.entries()) {
        const read = await tier.get(key(`falsy${i}`));
        expect(read).not.toBeUndefined();
        expect(read).toBe(value);
      }
    });

    it('returns the latest value after an overwrite', async () => {
      await tier.set(key('k'), { version: 1 }, LONG_TTL);
      await tier.set(key('k'), { version: 2 }, LONG_TTL);
      expect(await tier.get(key('k'))).toEqual({ version: 2 });
    });

    it('lets an overwrite change the type of the value', async () => {
      await tier.set(key('k'), 'text', LONG_TTL);
      await tier.set(key('k'), [1, 2], LONG_TTL);
      expect(await tier.get(key('k'))).toEqual([1, 2]);
    });

    it('deletes a key: true when it existed, then false, and the key is gone', async () => {
      await tier.set(key('k'), 'v', LONG_TTL);
      expect(await tier.delete(key('k'))).toBe(true);
      expect(await tier.get(key('k'))).toBeUndefined();
      expect(await tier.delete(key('k'))).toBe(false);
    });

    it('deletes only the given key', async () => {
      await tier.set(key('a'), 1, LONG_TTL);
      await tier.set(key('b'), 2, LONG_TTL);
      await tier.delete(key('a'));
      expect(await tier.get(key('b'))).toBe(2);
    });

    it('returns getMany results in key order, with hits and misses', async () => {
      await tier.set(key('a'), 'A', LONG_TTL);
      await tier.set(key('b'), 0, LONG_TTL);
      const results = await tier.getMany([key('b'), key('missing'), key('a'), key('b')]);
      expect(results).toEqual<TierReadResult[]>([
        { hit: true, value: 0 },
        { hit: false },
        { hit: true, value: 'A' },
        { hit: true, value: 0 },
      ]);
    });

    it('reports a getMany miss without an error', async () => {
      const [result] = await tier.getMany([key('missing')]);
      expect(result).toEqual({ hit: false });
      expect(result?.hit === false && result.error).toBeFalsy();
    });

    it('returns an empty array from getMany with no keys', async () => {
      expect(await tier.getMany([])).toEqual([]);
    });

    it('keeps a key until its ttl has passed', async () => {
      await tier.set(key('k'), 'v', LONG_TTL);
      await fixture?.advanceTime?.(LONG_TTL - 1);
      expect(await tier.get(key('k'))).toBe('v');
    });

    it('misses once the ttl has passed', async () => {
      await tier.set(key('k'), 'v', SHORT_TTL);
      await expectExpired(key('k'), SHORT_TTL);
      expect(await tier.getMany([key('k')])).toEqual([{ hit: false }]);
    });

    it('expires each key on its own ttl', async () => {
      await tier.set(key('short'), 'v', SHORT_TTL);
      await tier.set(key('long'), 'v', LONG_TTL);
      await expectExpired(key('short'), SHORT_TTL);
      expect(await tier.get(key('long'))).toBe('v');
    });

    it('restarts the ttl on overwrite', async () => {
      await tier.set(key('k'), 'old', SHORT_TTL);
      await tier.set(key('k'), 'new', LONG_TTL);
      // Wait past the first ttl: a probe set afterwards with the same ttl has expired by then.
      await tier.set(key('probe'), 'p', SHORT_TTL);
      await expectExpired(key('probe'), SHORT_TTL);
      expect(await tier.get(key('k'))).toBe('new');
    });

    it('clears every key it holds', async () => {
      const keys = Array.from({ length: 20 }, (_, i) => key(`clear${i}`));
      for (const k of keys) await tier.set(k, k, LONG_TTL);
      await tier.clear();
      const results = await tier.getMany(keys);
      expect(results.every((r) => !r.hit)).toBe(true);
    });

    it('stores again after clear', async () => {
      await tier.set(key('k'), 1, LONG_TTL);
      await tier.clear();
      await tier.set(key('k'), 2, LONG_TTL);
      expect(await tier.get(key('k'))).toBe(2);
    });

    it('rejects set(undefined) and keeps the previous value', async () => {
      await tier.set(key('k'), 'previous', LONG_TTL);
      const error = await rejectionOf(() => tier.set(key('k'), undefined, LONG_TTL));
      expect(error).toBeInstanceOf(Error);
      expect(await tier.get(key('k'))).toBe('previous');
    });

    it.each([
      ['0', 0],
      ['-1', -1],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ])('rejects ttl %s with a typed error and stores nothing', async (_label, ttl) => {
      const error = await rejectionOf(() => tier.set(key('k'), 'v', ttl));
      expect(error).toBeInstanceOf(Error);
      const code = (error as { code?: unknown }).code;
      expect(typeof code).toBe('string');
      expect(code).toMatch(/^E_/);
      expect(await tier.get(key('k'))).toBeUndefined();
    });

    it('round-trips 1000 keys', async () => {
      const keys = Array.from({ length: 1000 }, (_, i) => key(`many:${i}`));
      await Promise.all(keys.map((k, i) => tier.set(k, { i, k }, LONG_TTL)));
      const results = await tier.getMany(keys);
      expect(results).toEqual(keys.map((k, i) => ({ hit: true, value: { i, k } })));
      expect(await tier.get(keys[0]!)).toEqual({ i: 0, k: keys[0] });
      expect(await tier.get(keys[999]!)).toEqual({ i: 999, k: keys[999] });
    });
  });
}

async function rejectionOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw or reject, but it succeeded');
}
