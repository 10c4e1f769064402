import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AsyncTier, deferred, MapTier, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('single flight', () => {
  it('shares one loader call among 1000 concurrent gets of a key', async () => {
    const { cache } = setup();
    const answer = deferred<string>();
    const loader = vi.fn(() => answer.promise);

    const gets = Array.from({ length: 1000 }, () => cache.get('k', loader));
    await vi.advanceTimersByTimeAsync(0);
    answer.resolve('v');

    expect(new Set(await Promise.all(gets))).toEqual(new Set(['v']));
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('shares one L2 read among 1000 concurrent misses', async () => {
    const l2 = new MapTier('l2');
    const { cache } = setup({ l2: new AsyncTier(l2, 5) });
    const loader = vi.fn(() => 'v');

    const gets = Array.from({ length: 1000 }, () => cache.get('k', loader));
    await vi.advanceTimersByTimeAsync(10);
    await Promise.all(gets);

    expect(l2.calls.get).toBe(1);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('does not share loads between different keys', async () => {
    const { cache } = setup();
    const loader = vi.fn(({ key }: { key: string }) => key);

    expect(await Promise.all([cache.get('a', loader), cache.get('b', loader)])).toEqual(['a', 'b']);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('rejects every waiter with the loader error', async () => {
    const { cache } = setup();
    const answer = deferred<string>();
    const boom = new Error('db down');

    const gets = Array.from({ length: 10 }, () =>
      cache.get('k', () => answer.promise).catch((e: unknown) => e),
    );
    await vi.advanceTimersByTimeAsync(0);
    answer.reject(boom);

    expect(new Set(await Promise.all(gets))).toEqual(new Set([boom]));
  });

  it('does not cache a loader error: the next get retries', async () => {
    const { cache, of } = setup();
    const loader = vi.fn().mockRejectedValueOnce(new Error('db down')).mockResolvedValueOnce('v');

    await expect(cache.get('k', loader)).rejects.toThrow('db down');
    expect(await cache.get('k', loader)).toBe('v');
    expect(loader).toHaveBeenCalledTimes(2);
    expect(of('load:error')).toHaveLength(1);
  });

  it('turns a loader that throws synchronously into a rejection', async () => {
    const { cache } = setup();
    await expect(
      cache.get('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });

  it('emits one load event for a shared load', async () => {
    const { cache, of } = setup();
    await Promise.all(Array.from({ length: 5 }, () => cache.get('k', () => 'v')));
    expect(of('load')).toHaveLength(1);
    expect(of('miss')).toHaveLength(5);
  });
});
