import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, MapTier, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('getMany', () => {
  it('reads L1, then L2, then loads only the missing keys in one call', async () => {
    const shared = new MapTier('l2');
    const { cache, l1, l2 } = setup({ l2: shared });
    await cache.set('a', 'A');
    await setup({ l2: shared }).cache.set('b', 'B');
    l1.calls.getMany = 0;
    const loader = vi.fn(
      async (missing: string[]) => new Map(missing.map((k) => [k, k.toUpperCase()])),
    );

    const result = await cache.getMany(['a', 'b', 'c', 'd'], loader);

    expect(result).toEqual(
      new Map([
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
        ['d', 'D'],
      ]),
    );
    expect(loader).toHaveBeenCalledTimes(1);
    expect(loader.mock.calls[0]?.[0]).toEqual(['c', 'd']);
    expect(l1.calls.getMany).toBe(1);
    expect(l2.calls.getMany).toBe(1);
  });

  it('caches what it loaded in both tiers', async () => {
    const { cache } = setup();
    await cache.getMany(['a'], () => ({ a: 1 }));
    expect(await cache.get('a', () => 2)).toBe(1);
  });

  it('lists the found keys in the order asked, once each', async () => {
    const { cache } = setup();
    await cache.set('b', 2);
    const result = await cache.getMany(['c', 'b', 'a', 'b'], () => ({ a: 1, c: 3 }));
    expect([...result.keys()]).toEqual(['c', 'b', 'a']);
  });

  it('returns falsy values as hits', async () => {
    const { cache } = setup();
    await cache.getMany(['z', 'e', 'f', 'n'], () => ({ z: 0, e: '', f: false, n: null }));
    const loader = vi.fn(() => ({}));

    const result = await cache.getMany(['z', 'e', 'f', 'n'], loader);
    expect(result).toEqual(
      new Map<string, unknown>([
        ['z', 0],
        ['e', ''],
        ['f', false],
        ['n', null],
      ]),
    );
    expect(loader).not.toHaveBeenCalled();
  });

  it('leaves out misses when there is no loader', async () => {
    const { cache, of } = setup();
    await cache.set('a', 1);
    expect(await cache.getMany(['a', 'b'])).toEqual(new Map([['a', 1]]));
    expect(of('miss')).toEqual([{ key: 'b' }]);
  });

  it('does not cache keys the loader did not answer', async () => {
    const { cache, l2 } = setup();
    const result = await cache.getMany(['a', 'b'], () => new Map([['a', 1]]));
    expect(result).toEqual(new Map([['a', 1]]));
    expect(l2.peek('b')).toBeUndefined();
  });

  it('joins a get already loading one of the keys', async () => {
    const { cache } = setup();
    const answer = deferred<string>();
    const get = cache.get('a', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);
    const loader = vi.fn((missing: string[]) => Object.fromEntries(missing.map((k) => [k, k])));

    const many = cache.getMany(['a', 'b'], loader);
    await vi.advanceTimersByTimeAsync(0);
    answer.resolve('from get');

    expect(await many).toEqual(
      new Map([
        ['a', 'from get'],
        ['b', 'b'],
      ]),
    );
    expect(loader.mock.calls[0]?.[0]).toEqual(['b']);
    await get;
  });

  it('lets a concurrent get join its batch load', async () => {
    const { cache } = setup();
    const answer = deferred<Record<string, string>>();
    const many = cache.getMany(['a', 'b'], () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);
    const loader = vi.fn(() => 'own');

    const get = cache.get('a', loader);
    answer.resolve({ a: 'batch', b: 'batch' });

    expect(await get).toBe('batch');
    expect(loader).not.toHaveBeenCalled();
    await many;
  });

  it('rejects with the loader error', async () => {
    const { cache } = setup();
    await expect(cache.getMany(['a'], () => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
  });

  it('serves stale entries at once and refreshes them in one background batch', async () => {
    const { cache, next, of } = setup({ ttl: 1_000, maxStale: 10_000 });
    await cache.getMany(['a', 'b'], () => ({ a: 'old', b: 'old' }));
    vi.advanceTimersByTime(2_000);
    const loader = vi.fn((missing: string[]) => Object.fromEntries(missing.map((k) => [k, 'new'])));
    const loaded = next('load');

    expect(await cache.getMany(['a', 'b'], loader)).toEqual(
      new Map([
        ['a', 'old'],
        ['b', 'old'],
      ]),
    );
    await loaded;
    expect(loader).toHaveBeenCalledTimes(1);
    expect(of('stale:served')).toHaveLength(2);
    expect(await cache.getMany(['a', 'b'])).toEqual(
      new Map([
        ['a', 'new'],
        ['b', 'new'],
      ]),
    );
  });

  it('fills L1 from L2 hits', async () => {
    const shared = new MapTier('l2');
    await setup({ l2: shared }).cache.set('a', 1);
    const { cache, l1 } = setup({ l2: shared });
    await cache.getMany(['a']);
    expect(l1.peek('a')).toMatchObject({ v: 1 });
  });
});
