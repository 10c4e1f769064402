import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AsyncTier, deferred, MapTier, setup } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('delete / invalidate', () => {
  it('removes the key from L1 and L2 and says it existed', async () => {
    const { cache, l1, l2 } = setup();
    await cache.get('k', () => 'v');

    expect(await cache.delete('k')).toBe(true);
    expect(l1.peek('k')).toBeUndefined();
    expect(l2.peek('k')).toBeUndefined();
    expect(await cache.delete('k')).toBe(false);
  });

  it('makes the next get load again', async () => {
    const { cache } = setup();
    await cache.get('k', () => 'old');
    await cache.invalidate('k');
    expect(await cache.get('k', () => 'new')).toBe('new');
  });

  it('drops the write of a load that was in flight when the key was deleted', async () => {
    const { cache, l1, l2 } = setup();
    const answer = deferred<string>();
    const get = cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await cache.delete('k');
    answer.resolve('read before the delete');

    expect(await get).toBe('read before the delete');
    expect(l1.peek('k')).toBeUndefined();
    expect(l2.peek('k')).toBeUndefined();
  });

  it('starts a new load for gets after the delete instead of joining the old one', async () => {
    const { cache } = setup();
    const old = deferred<string>();
    const first = cache.get('k', () => old.promise);
    await vi.advanceTimersByTimeAsync(0);
    await cache.delete('k');

    const second = cache.get('k', () => 'after delete');
    old.resolve('before delete');

    expect(await first).toBe('before delete');
    expect(await second).toBe('after delete');
    expect(await cache.get('k', () => 'unused')).toBe('after delete');
  });

  it('does not refill L1 from an L2 read that was in flight during the delete', async () => {
    const l2 = new MapTier('l2');
    const { cache, l1 } = setup({ l2: new AsyncTier(l2, 100) });
    const now = Date.now();
    l2.put('k', { v: 'old', c: now, f: now + 60_000, s: now + 60_000, d: 0 });

    const get = cache.get('k', () => 'unused');
    await vi.advanceTimersByTimeAsync(10);
    const deleted = cache.delete('k');
    await vi.advanceTimersByTimeAsync(200);
    await deleted;
    await get;

    expect(l1.peek('k')).toBeUndefined();
  });
});

describe('set', () => {
  it('writes both tiers and is read back by get', async () => {
    const { cache, l2 } = setup({ ttl: 5_000 });
    await cache.set('k', { a: 1 });

    expect(l2.ttls.get('k')).toBe(5_000);
    expect(await cache.get('k', () => 'unused')).toEqual({ a: 1 });
  });

  it('takes per-call ttl and policy', async () => {
    const { cache, l2 } = setup();
    await cache.set('a', 1, { ttl: 1_234 });
    await cache.set('b', 1, { policy: { ttl: 2 } });
    expect([l2.ttls.get('a'), l2.ttls.get('b')]).toEqual([1_234, 2_000]);
  });

  it('wins over a load that was in flight', async () => {
    const { cache } = setup();
    const answer = deferred<string>();
    const get = cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await cache.set('k', 'explicit');
    answer.resolve('loaded');
    await get;

    expect(await cache.get('k', () => 'unused')).toBe('explicit');
  });

  it('deletes the key when the value is undefined', async () => {
    const { cache, l1, l2 } = setup();
    await cache.set('k', 'v');
    await cache.set('k', undefined);
    expect(l1.size + l2.size).toBe(0);
  });

  it('caches null with negativeTtl', async () => {
    const { cache, l2 } = setup({ negativeTtl: 3_000 });
    await cache.set('k', null);
    expect(l2.ttls.get('k')).toBe(3_000);
  });
});

describe('clear', () => {
  it('empties both tiers', async () => {
    const { cache, l1, l2 } = setup();
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.clear();
    expect(l1.size + l2.size).toBe(0);
  });

  it('drops the writes of loads in flight', async () => {
    const { cache, l1, l2 } = setup();
    const answer = deferred<string>();
    const get = cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);
    await cache.clear();
    answer.resolve('v');
    await get;
    expect(l1.size + l2.size).toBe(0);
  });
});
