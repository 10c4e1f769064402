import { describe, expect, it, vi } from 'vitest';
import type { EarlyRefreshOption } from './options.js';
import { setup } from './test-support/index.js';

/**
 * A manager whose entry for `k` took 100 ms to load and is fresh until t = 10_100; the clock
 * is then set 200 ms before that expiry. XFetch refreshes when
 * 100 * beta * -ln(random) >= 200, i.e. random <= e^(-2 / beta).
 */
async function nearExpiry(random: number, earlyRefresh: EarlyRefreshOption = true) {
  let now = 0;
  const s = setup({ ttl: 10_000, earlyRefresh, random: () => random, clock: () => now });
  await s.cache.get('k', () => {
    now += 100;
    return 'v1';
  });
  now = 10_100 - 200;
  s.events.length = 0;
  return s;
}

describe('early refresh (XFetch)', () => {
  it.each([0.1, 0.135, 0.01])('refreshes in the background for random = %d', async (r) => {
    const { cache, of, next } = await nearExpiry(r);
    const loaded = next('load');

    expect(await cache.get('k', () => 'v2')).toBe('v1');
    expect(of('refresh')).toEqual([{ key: 'k', early: true }]);
    await loaded;
    expect(await cache.get('k', () => 'unused')).toBe('v2');
  });

  it.each([0.136, 0.5, 0.99])('does not refresh for random = %d', async (r) => {
    const { cache, of } = await nearExpiry(r);
    const loader = vi.fn(() => 'v2');

    expect(await cache.get('k', loader)).toBe('v1');
    expect(loader).not.toHaveBeenCalled();
    expect(of('refresh')).toEqual([]);
  });

  it('refreshes earlier with a larger beta', async () => {
    const { cache, of } = await nearExpiry(0.2, { beta: 2 });
    await cache.get('k', () => 'v2');
    expect(of('refresh')).toEqual([{ key: 'k', early: true }]);
  });

  it('takes a per-call earlyRefresh', async () => {
    const { cache, of } = await nearExpiry(0.2);
    await cache.get('k', () => 'v2', { earlyRefresh: { beta: 2 } });
    expect(of('refresh')).toEqual([{ key: 'k', early: true }]);
  });

  it('never refreshes early when disabled', async () => {
    const { cache, of } = await nearExpiry(0.000001, false);
    await cache.get('k', () => 'v2');
    expect(of('refresh')).toEqual([]);
  });

  it('starts one refresh for many concurrent hits', async () => {
    const { cache } = await nearExpiry(0.01);
    const loader = vi.fn(() => new Promise<string>(() => {}));

    await Promise.all(Array.from({ length: 100 }, () => cache.get('k', loader)));
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('answers a reader whose L1 lost the entry from the refreshing entry, without waiting', async () => {
    const { cache, l1 } = await nearExpiry(0.01);
    await cache.get('k', () => new Promise<string>(() => {}));
    l1.delete('k'); // evicted behind the manager's back

    expect(await cache.get('k', () => 'unused')).toBe('v1');
  });

  it('does not refresh entries written by set (no load duration)', async () => {
    let now = 0;
    const { cache, of } = setup({
      ttl: 10_000,
      earlyRefresh: true,
      random: () => 0.000001,
      clock: () => now,
    });
    await cache.set('k', 'v1');
    now = 9_999;
    await cache.get('k', () => 'v2');
    expect(of('refresh')).toEqual([]);
  });
});
