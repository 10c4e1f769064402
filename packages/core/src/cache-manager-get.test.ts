import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Entry } from './entry.js';
import { AsyncTier, MapTier, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('get: the read flow', () => {
  it('calls the loader on a miss and serves the second get from L1', async () => {
    const { cache, l1, l2 } = setup();
    const loader = vi.fn(() => ({ id: 1 }));

    expect(await cache.get('user:1', loader)).toEqual({ id: 1 });
    expect(await cache.get('user:1', loader)).toEqual({ id: 1 });

    expect(loader).toHaveBeenCalledTimes(1);
    expect(l1.calls.get).toBe(2);
    expect(l2.calls.get).toBe(1);
  });

  it('fills L1 from an L2 hit with the entry remaining lifetime', async () => {
    const shared = new MapTier('l2');
    const writer = setup({ l2: shared, ttl: 10_000 });
    await writer.cache.get('k', () => 'v');
    vi.advanceTimersByTime(4_000);

    const reader = setup({ l2: shared, ttl: 10_000 });
    const loader = vi.fn(() => 'other');

    expect(await reader.cache.get('k', loader)).toBe('v');
    expect(loader).not.toHaveBeenCalled();
    expect(reader.l1.ttls.get('k')).toBe(6_000);
    expect(reader.of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: false }]);
  });

  it('answers from an asynchronous L1 and L2', async () => {
    const { cache } = setup({
      l1: new AsyncTier(new MapTier('l1')),
      l2: new AsyncTier(new MapTier('l2')),
    });
    const loader = vi.fn(() => 7);

    expect(await cache.get('k', loader)).toBe(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(await cache.get('k', loader)).toBe(7);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('works with no tier at all (single flight only)', async () => {
    const { cache } = setup({ l1: null, l2: null });
    const loader = vi.fn(() => 'v');

    expect(await cache.get('k', loader)).toBe('v');
    expect(await cache.get('k', loader)).toBe('v');
    expect(loader).toHaveBeenCalledTimes(2);
  });
});

describe('get: falsy values are values', () => {
  const falsy = [0, '', false, null] as const;

  it.each(falsy)('serves a cached %j from L1 without reloading', async (value) => {
    const { cache, of } = setup();
    const loader = vi.fn(() => value);

    await cache.get('k', loader);
    expect(await cache.get('k', loader)).toBe(value);

    expect(loader).toHaveBeenCalledTimes(1);
    expect(of('hit')).toEqual([{ key: 'k', tier: 'l1', stale: false }]);
  });

  it.each(falsy)('serves a cached %j from L2 without reloading', async (value) => {
    const shared = new MapTier('l2');
    await setup({ l1: null, l2: shared }).cache.get('k', () => value);
    const { cache, of } = setup({ l1: null, l2: shared });
    const loader = vi.fn(() => 'reloaded');

    expect(await cache.get('k', loader)).toBe(value);
    expect(loader).not.toHaveBeenCalled();
    expect(of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: false }]);
  });
});

describe('get: what is cached, and for how long', () => {
  it('caches null for negativeTtl, then reloads', async () => {
    const { cache, l2 } = setup({ ttl: 60_000, negativeTtl: 5_000 });
    const loader = vi.fn(() => null);

    await cache.get('missing', loader);
    expect(l2.ttls.get('missing')).toBe(5_000);
    vi.advanceTimersByTime(4_999);
    await cache.get('missing', loader);
    expect(loader).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    await cache.get('missing', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('returns a loader undefined to the caller without caching it', async () => {
    const { cache, l1, l2 } = setup();
    const loader = vi.fn(() => undefined);

    expect(await cache.get('k', loader)).toBeUndefined();
    expect(await cache.get('k', loader)).toBeUndefined();
    expect(loader).toHaveBeenCalledTimes(2);
    expect(l1.size + l2.size).toBe(0);
  });

  it('uses the manager ttl by default and reloads once it has passed', async () => {
    const { cache, l2 } = setup({ ttl: 2_000 });
    const loader = vi.fn(() => 'v');

    await cache.get('k', loader);
    expect(l2.ttls.get('k')).toBe(2_000);
    vi.advanceTimersByTime(2_000);
    await cache.get('k', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('takes the TTL of a policy in seconds', async () => {
    const { cache, l2 } = setup();
    await cache.get('k', () => 'v', { policy: { ttl: 60 } });
    expect(l2.ttls.get('k')).toBe(60_000);
  });

  it('prefers a per-call ttl in ms over the policy', async () => {
    const { cache, l2 } = setup();
    await cache.get('k', () => 'v', { ttl: 1_500, policy: { ttl: 60 } });
    expect(l2.ttls.get('k')).toBe(1_500);
  });

  it('keeps an entry in the tiers for ttl + maxStale', async () => {
    const { cache, l1, l2 } = setup({ ttl: 1_000, maxStale: 9_000 });
    await cache.get('k', () => 'v');
    expect(l1.ttls.get('k')).toBe(10_000);
    expect(l2.ttls.get('k')).toBe(10_000);
  });

  it('caps the L1 lifetime with l1Ttl', async () => {
    const { cache, l1, l2 } = setup({ ttl: 60_000 });
    await cache.get('k', () => 'v', { l1Ttl: 1_000 });
    expect(l1.ttls.get('k')).toBe(1_000);
    expect(l2.ttls.get('k')).toBe(60_000);
  });

  it('stores an envelope with the value, its timestamps and the load duration', async () => {
    const { cache, l2 } = setup({ ttl: 1_000, maxStale: 500 });
    await cache.get('k', async () => {
      await vi.advanceTimersByTimeAsync(30);
      return 'v';
    });
    expect(JSON.parse(JSON.stringify(l2.peek('k')))).toEqual({
      v: 'v',
      c: 1_000_030,
      f: 1_001_030,
      s: 1_001_530,
      d: 30,
    });
    expect(l2.peek('k')).toBeInstanceOf(Entry);
  });
});

describe('get: jitter', () => {
  it('never lengthens a TTL and shortens it by at most the ratio', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (ttl, ratio, r) => {
          const { cache, l2 } = setup({ ttl, jitter: ratio, random: () => r });
          await cache.get('k', () => 'v');
          const stored = l2.ttls.get('k') as number;
          expect(stored).toBeLessThanOrEqual(ttl);
          expect(stored).toBeGreaterThanOrEqual(Math.max(1, Math.floor(ttl * (1 - ratio))));
        },
      ),
    );
  });

  it('spreads the TTLs of keys written together', async () => {
    let i = 0;
    const randoms = [0, 0.5, 0.99];
    const { cache, l2 } = setup({ ttl: 10_000, jitter: 0.1, random: () => randoms[i++] ?? 0 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, () => key);
    expect([...l2.ttls.values()]).toEqual([10_000, 9_500, 9_010]);
  });

  it('takes a per-call jitter ratio', async () => {
    const { cache, l2 } = setup({ ttl: 10_000, jitter: 0, random: () => 0.5 });
    await cache.get('k', () => 'v', { jitter: 0.2 });
    expect(l2.ttls.get('k')).toBe(9_000);
  });
});
