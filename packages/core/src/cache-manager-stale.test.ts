import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, MapTier, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A manager holding 'old' for `k`, now 500 ms past its 1 s fresh TTL. */
async function withStaleEntry(options: Parameters<typeof setup>[0] = {}) {
  const s = setup({ ttl: 1_000, maxStale: 10_000, ...options });
  await s.cache.get('k', () => 'old');
  vi.advanceTimersByTime(1_500);
  s.events.length = 0;
  return s;
}

describe('stale-while-revalidate', () => {
  it('serves a stale value at once while a refresh runs', async () => {
    const { cache, of } = await withStaleEntry();
    const answer = deferred<string>();

    expect(await cache.get('k', () => answer.promise)).toBe('old');
    expect(of('stale:served')).toEqual([{ key: 'k', reason: 'revalidating' }]);
    expect(of('hit')).toEqual([{ key: 'k', tier: 'l1', stale: true }]);
    expect(of('refresh')).toEqual([{ key: 'k', early: false }]);
  });

  it('runs one refresh for many concurrent stale reads', async () => {
    const { cache } = await withStaleEntry();
    const answer = deferred<string>();
    const loader = vi.fn(() => answer.promise);

    const values = await Promise.all(Array.from({ length: 100 }, () => cache.get('k', loader)));

    expect(new Set(values)).toEqual(new Set(['old']));
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('serves the refreshed value once the refresh is done', async () => {
    const { cache, next } = await withStaleEntry();
    const loaded = next('load');

    await cache.get('k', () => 'new');
    await loaded;

    expect(await cache.get('k', () => 'unused')).toBe('new');
  });

  it('passes the stale value to the loader', async () => {
    const { cache, next } = await withStaleEntry();
    const loader = vi.fn(() => 'new');
    const loaded = next('load');

    await cache.get('k', loader);
    await loaded;

    expect(loader).toHaveBeenCalledWith(expect.objectContaining({ key: 'k', stale: 'old' }));
  });

  it('serves a stale entry found in L2 and refreshes it', async () => {
    const shared = new MapTier('l2');
    const writer = setup({ l2: shared, ttl: 1_000, maxStale: 10_000 });
    await writer.cache.get('k', () => 'old');
    vi.advanceTimersByTime(1_500);
    const { cache, of, next } = setup({ l2: shared, ttl: 1_000, maxStale: 10_000 });
    const loaded = next('load');

    expect(await cache.get('k', () => 'new')).toBe('old');
    await loaded;
    expect(of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: true }]);
    expect(await cache.get('k', () => 'unused')).toBe('new');
  });

  it('never serves stale with the default maxStale of 0', async () => {
    const { cache } = setup({ ttl: 1_000 });
    await cache.get('k', () => 'old');
    vi.advanceTimersByTime(1_001);

    expect(await cache.get('k', () => 'new')).toBe('new');
  });

  it('lets a read bound staleness with its own maxStale', async () => {
    const { cache } = await withStaleEntry();
    expect(await cache.get('k', () => 'new', { maxStale: 100 })).toBe('new');
  });
});

describe('fail-safe', () => {
  it('keeps serving the stale value when the background refresh fails', async () => {
    const { cache, of, logger, next } = await withStaleEntry();
    const failed = next('load:error');
    const loader = vi.fn().mockRejectedValue(new Error('db down'));

    expect(await cache.get('k', loader)).toBe('old');
    await failed;
    expect(await cache.get('k', loader)).toBe('old');

    expect(of('load:error')).toHaveLength(2);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('falls back to the stale value when the awaited loader fails', async () => {
    const { cache, of } = await withStaleEntry({ softTimeout: Number.POSITIVE_INFINITY });

    expect(await cache.get('k', () => Promise.reject(new Error('db down')))).toBe('old');
    expect(of('stale:served')).toEqual([{ key: 'k', reason: 'fail-safe' }]);
    expect(of('load:error')).toHaveLength(1);
  });

  it('waits for the loader when softTimeout is Infinity and it answers', async () => {
    const { cache } = await withStaleEntry({ softTimeout: Number.POSITIVE_INFINITY });
    expect(await cache.get('k', () => 'new')).toBe('new');
  });

  it('surfaces the loader error once the entry is older than maxStale', async () => {
    const { cache } = await withStaleEntry();
    vi.advanceTimersByTime(10_000);

    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
  });

  it('does not report a background refresh failure as an unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { cache, next } = await withStaleEntry();
      const failed = next('load:error');
      await cache.get('k', () => Promise.reject(new Error('db down')));
      await failed;
      // Node reports unhandled rejections after the microtask queue drains: let a real
      // macrotask pass.
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    expect(unhandled).not.toHaveBeenCalled();
  });
});
