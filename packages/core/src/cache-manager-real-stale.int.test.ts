import { createCodec } from '@tiercache/compression';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { deferred } from './test-support/index.js';
import { L2_KINDS, type RealRedis, startRealRedis } from './test-support/real-tiers.js';

// Stale entries on real tiers: the entry's timestamps survive the Redis round trip, so
// another instance can serve a stale value (fail-safe, stale-while-revalidate).
//
// The managers share an injected clock that the tests move; Redis expires keys in real
// time after fresh + maxStale = 61 s, far longer than a test, so the key is still there.

const codec = createCodec();
const TTL = 1_000;
const MAX_STALE = 60_000;

describe.each(L2_KINDS)('stale entries on real tiers (%s Redis)', (kind) => {
  let fx: RealRedis;
  beforeAll(async () => {
    fx = await startRealRedis(kind);
  });
  afterEach(() => fx.cleanup());
  afterAll(() => fx?.stop());

  /** Managers of one test share a prefix and a clock that only the test moves. */
  function scenario(options: { softTimeout?: number } = {}) {
    const prefix = fx.prefix();
    const time = { now: Date.now() };
    const manager = (l1 = true) =>
      fx.manager({ prefix, l1, clock: () => time.now, ttl: TTL, maxStale: MAX_STALE, ...options });
    /** Resolves once Redis holds an entry whose value is `value`. */
    const untilL2Holds = (value: unknown) =>
      vi.waitFor(
        async () => {
          const bytes = await fx.getRaw(`${prefix}k`);
          expect(bytes === null ? undefined : codec.decode(bytes)).toMatchObject({ v: value });
        },
        { timeout: 5_000, interval: 10 },
      );
    return { time, manager, untilL2Holds };
  }

  describe('fail-safe (softTimeout: Infinity)', () => {
    const boom = new Error('database down');
    const failing = () => {
      throw boom;
    };

    it('serves the stale L1 value when the loader fails after the fresh TTL', async () => {
      const { time, manager, untilL2Holds } = scenario({ softTimeout: Infinity });
      const { cache, of } = await manager();
      await cache.get('k', () => 'v1');
      await untilL2Holds('v1');

      time.now += TTL + 500;

      expect(await cache.get('k', failing)).toBe('v1');
      expect(of('stale:served')).toEqual([{ key: 'k', reason: 'fail-safe' }]);
      expect(of('hit')).toEqual([{ key: 'k', tier: 'l1', stale: true }]);
      expect(of('load:error')).toMatchObject([{ key: 'k', error: boom }]);
    });

    it('serves the stale L2 value to another instance when its loader fails', async () => {
      const { time, manager, untilL2Holds } = scenario({ softTimeout: Infinity });
      await (await manager()).cache.get('k', () => 'v1');
      await untilL2Holds('v1');

      time.now += TTL + 500;
      const other = await manager();

      expect(await other.cache.get('k', failing)).toBe('v1');
      expect(other.of('stale:served')).toEqual([{ key: 'k', reason: 'fail-safe' }]);
      expect(other.of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: true }]);
    });

    it('surfaces the loader error beyond maxStale, from L1 and from L2', async () => {
      const { time, manager, untilL2Holds } = scenario({ softTimeout: Infinity });
      const first = await manager();
      await first.cache.get('k', () => 'v1');
      await untilL2Holds('v1');

      time.now += TTL + MAX_STALE;
      const other = await manager();

      await expect(first.cache.get('k', failing)).rejects.toBe(boom);
      await expect(other.cache.get('k', failing)).rejects.toBe(boom);
      expect([...first.of('stale:served'), ...other.of('stale:served')]).toEqual([]);
      // Redis still holds the key (its TTL runs in real time): the entry's own timestamps
      // made it unusable, not Redis's expiry.
      await untilL2Holds('v1');
    });
  });

  describe('stale-while-revalidate (softTimeout unset)', () => {
    it.each([
      ['L1 of the instance that loaded it', 'l1'],
      ['L2, read by another instance without L1', 'l2'],
    ] as const)('serves stale from %s at once and refreshes once', async (_, tier) => {
      const { time, manager, untilL2Holds } = scenario();
      const first = await manager();
      await first.cache.get('k', () => 'v1');
      await untilL2Holds('v1');

      time.now += TTL + 500;
      const reader = tier === 'l1' ? first : await manager(false);
      const answer = deferred<string>();
      const refresh = vi.fn(() => answer.promise);

      // All answered while the refresh is still pending: stale values are served at once.
      const values = await Promise.all(
        Array.from({ length: 100 }, () => reader.cache.get('k', refresh)),
      );
      expect(values).toEqual(Array(100).fill('v1'));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(reader.of('refresh')).toEqual([{ key: 'k', early: false }]);
      expect(reader.of('stale:served')).toEqual(
        Array(100).fill({ key: 'k', reason: 'revalidating' }),
      );
      expect(reader.of('hit').every((e) => e.stale)).toBe(true);

      answer.resolve('v2');
      await untilL2Holds('v2');

      const other = await manager();
      const loader = vi.fn(() => 'v3');
      expect(await other.cache.get('k', loader)).toBe('v2');
      expect(loader).not.toHaveBeenCalled();
      expect(other.of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: false }]);
      expect(await reader.cache.get('k', loader)).toBe('v2');
      expect(refresh).toHaveBeenCalledTimes(1);
    });
  });
});
