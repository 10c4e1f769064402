import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CacheManager, cacheManager } from './cache-manager.js';
import { CacheClosedError, InvalidKeyError, InvalidOptionsError } from './errors.js';
import type { CacheManagerOptions, GetOptions } from './options.js';
import { AsyncTier, deferred, MapTier, recordingLogger, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('events', () => {
  it('tells a miss, its load and the following hit', async () => {
    const { cache, events } = setup();
    await cache.get('k', () => 'v');
    await cache.get('k', () => 'v');

    expect(events).toEqual([
      { name: 'miss', event: { key: 'k' } },
      { name: 'load', event: { key: 'k', durationMs: 0 } },
      { name: 'hit', event: { key: 'k', tier: 'l1', stale: false } },
    ]);
  });

  it('reports a failed load with its error and duration', async () => {
    const { cache, of } = setup();
    const boom = new Error('db down');
    await cache
      .get('k', async () => {
        await vi.advanceTimersByTimeAsync(25);
        throw boom;
      })
      .catch(() => undefined);
    expect(of('load:error')).toEqual([{ key: 'k', error: boom, durationMs: 25 }]);
  });

  it('stops calling a listener after unsubscribing, with the returned function or off', async () => {
    const cache = new CacheManager({ l1: new MapTier('l1') });
    const a = vi.fn();
    const b = vi.fn();
    const unsubscribe = cache.on('miss', a);
    cache.on('miss', b);
    unsubscribe();
    cache.off('miss', b);

    await cache.get('k', () => 'v');
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
  });

  it('keeps serving when a listener throws, and logs it', async () => {
    const logger = recordingLogger();
    const cache = new CacheManager({ l1: new MapTier('l1'), logger });
    cache.on('miss', () => {
      throw new Error('listener bug');
    });

    expect(await cache.get('k', () => 'v')).toBe('v');
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'error', message: 'tiercache: a "miss" listener threw' }),
    ]);
  });

  it('rejects an unknown event name', () => {
    const cache = new CacheManager();
    expect(() => cache.on('nope' as 'hit', () => {})).toThrow(InvalidOptionsError);
    expect(() => cache.on('toString' as 'hit', () => {})).toThrow(InvalidOptionsError);
  });
});

describe('constructor options', () => {
  it.each<[string, Record<string, unknown>]>([
    ['ttl', { ttl: -1 }],
    ['ttl', { ttl: Number.NaN }],
    ['jitter', { jitter: 1.5 }],
    ['negativeTtl', { negativeTtl: 0 }],
    ['maxStale', { maxStale: -5 }],
    ['softTimeout', { softTimeout: -1 }],
    ['hardTimeout', { hardTimeout: 0 }],
    ['earlyRefresh.beta', { earlyRefresh: { beta: 0 } }],
    ['clock', { clock: 5 }],
    ['logger', { logger: { warn: () => {} } }],
    ['l2', { l2: { name: 'x', get: () => undefined } }],
    ['tll', { tll: 1000 }],
  ])('names the bad field "%s"', (field, options) => {
    expect(() => new CacheManager(options as CacheManagerOptions)).toThrow(
      expect.objectContaining({
        name: 'InvalidOptionsError',
        code: 'E_INVALID_OPTIONS',
        message: expect.stringContaining(`"${field}"`),
      }),
    );
  });

  it('accepts no options at all', () => {
    expect(new CacheManager()).toBeInstanceOf(CacheManager);
    expect(cacheManager({ ttl: 1_000 })).toBeInstanceOf(CacheManager);
  });
});

describe('per-call options and arguments', () => {
  it.each<[string, GetOptions]>([
    ['ttl', { ttl: 0 }],
    ['ttl', { ttl: Number.NaN }],
    ['negativeTtl', { negativeTtl: -1 }],
    ['jitter', { jitter: -0.1 }],
    ['maxStale', { maxStale: Number.POSITIVE_INFINITY }],
    ['softTimeout', { softTimeout: -1 }],
    ['hardTimeout', { hardTimeout: Number.NaN }],
    ['l1Ttl', { l1Ttl: -1 }],
    ['earlyRefresh', { earlyRefresh: { beta: -1 } }],
    ['policy.ttl', { policy: { ttl: -60 } }],
  ])('rejects a bad "%s" with InvalidOptionsError', async (field, options) => {
    const { cache } = setup();
    await expect(cache.get('k', () => 'v', options)).rejects.toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTIONS',
        message: expect.stringContaining(`"${field}"`),
      }),
    );
  });

  it.each<[string, unknown]>([
    ['an empty string', ''],
    ['a number', 42],
    ['undefined', undefined],
  ])('rejects %s as a key with InvalidKeyError', async (_, key) => {
    const { cache } = setup();
    const k = key as string;
    await expect(cache.get(k, () => 'v')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.set(k, 'v')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.delete(k)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(cache.getMany(['ok', k])).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
  });

  it('rejects a get without a loader', async () => {
    const { cache } = setup();
    await expect(cache.get('k', undefined as never)).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});

describe('wrap', () => {
  it('caches a function by the key its arguments map to', async () => {
    const { cache } = setup();
    const findUser = vi.fn(async (id: number, _tenant: string) => ({ id }));
    const cached = cache.wrap(findUser, (id, tenant) => `${tenant}:user:${id}`);

    expect(await cached(1, 't')).toEqual({ id: 1 });
    expect(await cached(1, 't')).toEqual({ id: 1 });
    expect(await cached(2, 't')).toEqual({ id: 2 });
    expect(findUser).toHaveBeenCalledTimes(2);
  });

  it('applies its options to every call', async () => {
    const { cache, l2 } = setup();
    const cached = cache.wrap(
      (n: number) => n * 2,
      (n) => `double:${n}`,
      { ttl: 777 },
    );
    await cached(2);
    expect(l2.ttls.get('double:2')).toBe(777);
  });

  it('rejects when keyFn throws', async () => {
    const { cache } = setup();
    const cached = cache.wrap(
      () => 1,
      () => {
        throw new Error('no key');
      },
    );
    await expect(cached()).rejects.toThrow('no key');
  });
});

describe('close', () => {
  it('rejects every later call with CacheClosedError', async () => {
    const { cache } = setup();
    await cache.close();
    await expect(cache.get('k', () => 'v')).rejects.toBeInstanceOf(CacheClosedError);
    await expect(cache.set('k', 'v')).rejects.toMatchObject({ code: 'E_CACHE_CLOSED' });
    await expect(cache.getMany(['k'])).rejects.toBeInstanceOf(CacheClosedError);
    await expect(cache.delete('k')).rejects.toBeInstanceOf(CacheClosedError);
    await expect(cache.clear()).rejects.toBeInstanceOf(CacheClosedError);
  });

  it('closes tiers that can be closed, once', async () => {
    const l2 = Object.assign(new MapTier('l2'), { close: vi.fn() });
    const { cache } = setup({ l2 });
    await Promise.all([cache.close(), cache.close()]);
    expect(l2.close).toHaveBeenCalledTimes(1);
  });

  it('waits for pending L2 writes before closing', async () => {
    const inner = new MapTier('l2');
    const { cache } = setup({ l2: new AsyncTier(inner, 100) });
    const get = cache.get('k', () => 'v');
    await vi.advanceTimersByTimeAsync(100); // L2 read
    await get;

    const closed = cache.close();
    await vi.advanceTimersByTimeAsync(100);
    await closed;
    expect(inner.peek('k')).toMatchObject({ v: 'v' });
  });

  it('aborts loads in flight and does not store their result', async () => {
    const { cache, l1 } = setup();
    const answer = deferred<string>();
    let signal: AbortSignal | undefined;
    const get = cache.get('k', (ctx) => {
      signal = ctx.signal;
      return answer.promise;
    });
    await vi.advanceTimersByTimeAsync(0);

    await cache.close();
    answer.resolve('v');

    expect(await get).toBe('v');
    expect(signal?.reason).toBeInstanceOf(CacheClosedError);
    expect(l1.size).toBe(0);
  });
});
