import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoaderTimeoutError } from './errors.js';
import { deferred, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

async function withStaleEntry(options: Parameters<typeof setup>[0] = {}) {
  const s = setup({ ttl: 1_000, maxStale: 10_000, ...options });
  await s.cache.get('k', () => 'old');
  vi.advanceTimersByTime(1_500);
  s.events.length = 0;
  return s;
}

describe('soft timeout', () => {
  it('returns the stale value when the loader is slower than softTimeout', async () => {
    const { cache, of } = await withStaleEntry({ softTimeout: 100 });
    const answer = deferred<string>();

    const get = cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(100);

    expect(await get).toBe('old');
    expect(of('stale:served')).toEqual([{ key: 'k', reason: 'soft-timeout' }]);
  });

  it('lets the slow load finish in the background and fill the cache', async () => {
    const { cache, next } = await withStaleEntry({ softTimeout: 100 });
    const answer = deferred<string>();
    const get = cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(100);
    await get;

    const loaded = next('load');
    answer.resolve('new');
    await loaded;

    expect(await cache.get('k', () => 'unused')).toBe('new');
  });

  it('returns the fresh value when the loader beats softTimeout', async () => {
    const { cache, of } = await withStaleEntry({ softTimeout: 100 });
    const get = cache.get(
      'k',
      () => new Promise<string>((resolve) => setTimeout(() => resolve('new'), 50)),
    );
    await vi.advanceTimersByTimeAsync(50);

    expect(await get).toBe('new');
    expect(of('stale:served')).toEqual([]);
  });

  it('takes a per-call softTimeout', async () => {
    const { cache } = await withStaleEntry({ softTimeout: 10_000 });
    const get = cache.get('k', () => deferred<string>().promise, { softTimeout: 20 });
    await vi.advanceTimersByTimeAsync(20);
    expect(await get).toBe('old');
  });

  it('does not apply without a stale value: the caller waits for the loader', async () => {
    const { cache } = setup({ softTimeout: 10 });
    const get = cache.get(
      'k',
      () => new Promise<string>((resolve) => setTimeout(() => resolve('v'), 1_000)),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await get).toBe('v');
  });
});

describe('hard timeout', () => {
  it('rejects with LoaderTimeoutError when there is no stale value', async () => {
    const { cache } = setup({ hardTimeout: 200 });
    const get = cache.get('k', () => deferred<string>().promise);
    const settled = get.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(200);

    const error = await settled;
    expect(error).toBeInstanceOf(LoaderTimeoutError);
    expect(error).toMatchObject({ code: 'E_LOADER_TIMEOUT', key: 'k', timeoutMs: 200 });
  });

  it('aborts the loader signal with the timeout error', async () => {
    const { cache } = setup({ hardTimeout: 200 });
    let signal: AbortSignal | undefined;
    const get = cache
      .get('k', (ctx) => {
        signal = ctx.signal;
        return deferred<string>().promise;
      })
      .catch(() => undefined);
    await vi.advanceTimersByTimeAsync(200);
    await get;

    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(LoaderTimeoutError);
  });

  it('does not cache what a timed-out loader resolves to later', async () => {
    const { cache, l1, l2 } = setup({ hardTimeout: 200 });
    const answer = deferred<string>();
    const get = cache.get('k', () => answer.promise).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(200);
    await get;
    answer.resolve('late');
    await vi.advanceTimersByTimeAsync(0);

    expect(l1.size + l2.size).toBe(0);
  });

  it('serves the stale value when the loader times out and stale is allowed', async () => {
    const { cache, of } = await withStaleEntry({
      softTimeout: Number.POSITIVE_INFINITY,
      hardTimeout: 300,
    });
    const get = cache.get('k', () => deferred<string>().promise);
    await vi.advanceTimersByTimeAsync(300);

    expect(await get).toBe('old');
    expect(of('stale:served')).toEqual([{ key: 'k', reason: 'fail-safe' }]);
    expect(of('load:error')[0]?.error).toBeInstanceOf(LoaderTimeoutError);
  });

  it('takes a per-call hardTimeout', async () => {
    const { cache } = setup();
    const get = cache.get('k', () => deferred<string>().promise, { hardTimeout: 5 });
    const settled = get.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5);
    expect(await settled).toBeInstanceOf(LoaderTimeoutError);
  });
});
