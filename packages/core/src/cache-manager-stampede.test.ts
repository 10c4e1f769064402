import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, LoaderTimeoutError } from './errors.js';
import type { CacheManagerOptions } from './options.js';
import { LOCKER_BYPASS_MS } from './stampede.js';
import {
  AsyncTier,
  deferred,
  FakeLocker,
  FakeLockerError,
  MapTier,
  type Setup,
  setup,
} from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

type FleetOptions = Omit<CacheManagerOptions, 'l1' | 'l2' | 'locker'>;
/** One process of a {@link fleet}. */
type P = Setup<MapTier, MapTier>;

/**
 * `n` managers, each standing for one process with its own L1, sharing one L2 and one locker
 * (the Redis of a real deployment).
 */
function fleet(n: number, options: FleetOptions = {}) {
  const l2 = new MapTier('l2');
  const locker = new FakeLocker();
  const processes = Array.from({ length: n }, () => setup({ l2, locker, ...options }));
  return { l2, locker, processes };
}

/** Resolves after `ms` milliseconds of the (fake) clock. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loader that answers `value` after `ms` (fake) milliseconds. */
function slowLoader<T>(value: T, ms: number) {
  return vi.fn(async () => {
    await delay(ms);
    return value;
  });
}

describe('stampede protection across processes', () => {
  it('makes 3 processes × 10 concurrent gets of a missing key call the loader once', async () => {
    const { processes } = fleet(3);
    const loader = slowLoader('v', 200);

    const gets = processes.flatMap(({ cache }) =>
      Array.from({ length: 10 }, () => cache.get('k', loader)),
    );
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await Promise.all(gets)).toEqual(Array(30).fill('v'));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(processes.map((p) => p.of('stampede:wait').length)).toEqual([0, 1, 1]);
  });

  it('gives a waiting process the holder’s value from L2, and keeps it in its own L1', async () => {
    const { processes } = fleet(2);
    const [holder, waiter] = processes as [P, P];
    const waiterLoader = vi.fn(() => 'mine');

    const first = holder.cache.get('k', slowLoader('theirs', 200));
    const second = waiter.cache.get('k', waiterLoader);
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await first).toBe('theirs');
    expect(await second).toBe('theirs');
    expect(waiterLoader).not.toHaveBeenCalled();
    expect(waiter.l1.peek('k')).toMatchObject({ v: 'theirs' });
    expect(waiter.of('load')).toEqual([]);
    expect(holder.of('load')).toHaveLength(1);
  });

  it('sees the value within one poll interval of the holder writing it', async () => {
    const { processes } = fleet(2, { stampede: { pollInterval: 20 } });
    const [holder, waiter] = processes as [P, P];
    const t0 = Date.now();
    let answeredAt = 0;

    void holder.cache.get('k', slowLoader('v', 300));
    const got = waiter.cache
      .get('k', () => 'mine')
      .then((v) => {
        answeredAt = Date.now() - t0;
        return v;
      });
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await got).toBe('v');
    // Polls at 20, 50, 95, 162.5, 263.75, 415.6 ms (delays ×1.5, capped at 8 × 20 = 160 ms).
    expect(answeredAt).toBeGreaterThanOrEqual(300);
    expect(answeredAt).toBeLessThanOrEqual(300 + 160);
  });

  it('loads without the lock once waitTimeout passes and the value has not appeared', async () => {
    const { processes } = fleet(2, { stampede: { waitTimeout: 1_000 } });
    const [holder, waiter] = processes as [P, P];
    const hung = deferred<string>();
    const waiterLoader = vi.fn(() => 'mine');

    void holder.cache.get('k', () => hung.promise);
    const got = waiter.cache.get('k', waiterLoader);
    await vi.advanceTimersByTimeAsync(999);
    expect(waiterLoader).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);

    expect(await got).toBe('mine');
    expect(waiter.of('stampede:fallback')).toEqual([
      { key: 'k', reason: 'timeout', waitedMs: 1_000 },
    ]);
    expect(waiter.l1.peek('k')).toMatchObject({ v: 'mine' });
  });

  it('takes over as soon as a dead holder’s lock expires, before waitTimeout', async () => {
    const { locker, processes } = fleet(1, { stampede: { waitTimeout: 5_000, pollInterval: 50 } });
    const [waiter] = processes as [P];
    locker.holdAsDeadProcess('k', 300);
    const loader = vi.fn(() => 'v');
    const t0 = Date.now();
    let loadedAt = 0;

    const got = waiter.cache.get('k', () => {
      loadedAt = Date.now() - t0;
      return loader();
    });
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await got).toBe('v');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(loadedAt).toBeGreaterThanOrEqual(300);
    expect(loadedAt).toBeLessThan(500);
    expect(waiter.of('stampede:fallback')).toEqual([]);
    expect(locker.isHeld('k')).toBe(false);
  });

  it('lets a waiter load without waiting out waitTimeout when the holder’s loader fails', async () => {
    const { processes } = fleet(2, { stampede: { waitTimeout: 5_000 } });
    const [holder, waiter] = processes as [P, P];
    const t0 = Date.now();
    let loadedAt = 0;

    const failed = holder.cache
      .get('k', async () => {
        await delay(100);
        throw new Error('db hiccup');
      })
      .catch((e: unknown) => e);
    const got = waiter.cache.get('k', () => {
      loadedAt = Date.now() - t0;
      return 'v';
    });
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await failed).toMatchObject({ message: 'db hiccup' });
    expect(await got).toBe('v');
    expect(loadedAt).toBeGreaterThanOrEqual(100);
    expect(loadedAt).toBeLessThan(300);
  });

  it('releases the lock only once L2 holds the value', async () => {
    const shared = new MapTier('l2');
    const locker = new FakeLocker();
    const { cache } = setup({ l2: new AsyncTier(shared, 20), locker });
    const inL2AtRelease: boolean[] = [];
    locker.onRelease = () => inL2AtRelease.push(shared.peek('k') !== undefined);

    const got = cache.get('k', slowLoader('v', 100));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await got).toBe('v');
    expect(inL2AtRelease).toEqual([true]);
  });

  it('does not wait for the L2 write before answering its own callers', async () => {
    const shared = new MapTier('l2');
    const locker = new FakeLocker();
    const { cache } = setup({ l2: new AsyncTier(shared, 50), locker });
    let answered = false;

    // L2 read (50 ms), lock, L2 re-read (50 ms), load (100 ms): answered at 200 ms.
    const got = cache.get('k', slowLoader('v', 100)).then((v) => {
      answered = true;
      return v;
    });
    await vi.advanceTimersByTimeAsync(200);

    expect(answered).toBe(true);
    expect(locker.isHeld('k')).toBe(true);
    await vi.advanceTimersByTimeAsync(50);
    expect(locker.isHeld('k')).toBe(false);
    expect(await got).toBe('v');
  });

  it('re-reads L2 after taking the lock, and does not load what another process just stored', async () => {
    const { locker, processes } = fleet(2);
    const [other, late] = processes as [P, P];
    locker.latencyMs = 10;
    const loader = vi.fn(() => 'late');

    const got = late.cache.get('k', loader);
    await vi.advanceTimersByTimeAsync(5); // L2 was read (a miss); the lock is on its way
    await other.cache.set('k', 'stored');
    await vi.advanceTimersByTimeAsync(10);

    expect(await got).toBe('stored');
    expect(loader).not.toHaveBeenCalled();
    expect(late.of('load')).toEqual([]);
    expect(locker.isHeld('k')).toBe(false);
  });

  it('treats a locker that resolves undefined as "held by another"', async () => {
    const { locker, processes } = fleet(2);
    locker.busyAs = 'undefined';
    const loader = slowLoader('v', 200);

    const gets = processes.map(({ cache }) => cache.get('k', loader));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await Promise.all(gets)).toEqual(['v', 'v']);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('loads at once when the locker fails, emits lock-error and logs a warning', async () => {
    const { locker, processes } = fleet(1);
    const [p] = processes as [P];
    locker.failing = true;
    const loader = vi.fn(() => 'v');

    expect(await p.cache.get('k', loader)).toBe('v');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(p.of('stampede:fallback')).toEqual([
      { key: 'k', reason: 'lock-error', waitedMs: 0, error: expect.any(FakeLockerError) },
    ]);
    expect(p.logger.lines).toMatchObject([
      { level: 'warn', message: expect.stringContaining('stampede lock on "k" failed') },
    ]);
    expect(p.l2.peek('k')).toMatchObject({ v: 'v' });
  });

  it(`skips the failed locker for ${LOCKER_BYPASS_MS} ms, then tries it again`, async () => {
    const { locker, processes } = fleet(1);
    const [p] = processes as [P];
    locker.failing = true;

    await p.cache.get('a', () => 1);
    await p.cache.get('b', () => 2);
    expect(locker.calls.map((c) => c.resource)).toEqual(['a']);
    expect(p.of('stampede:fallback').map((e) => e.reason)).toEqual(['lock-error', 'lock-error']);

    locker.failing = false;
    vi.advanceTimersByTime(LOCKER_BYPASS_MS);
    await p.cache.get('c', () => 3);
    expect(locker.calls.map((c) => c.resource)).toEqual(['a', 'c']);
  });

  it('keeps the defaults of settings given as undefined', async () => {
    const { locker, processes } = fleet(1, { stampede: { lockTtl: undefined } });
    await processes[0]?.cache.get('k', () => 'v', { stampede: { waitTimeout: undefined } });
    expect(locker.calls[0]?.options.ttl).toBe(10_000);
  });

  it('asks the locker once, with the lockTtl in whole ms and no retries', async () => {
    const { locker, processes } = fleet(1, { stampede: { lockTtl: 2_500.5 } });
    await processes[0]?.cache.get('k', () => 'v');
    expect(locker.calls).toEqual([
      { resource: 'k', options: { ttl: 2_501, retry: { retries: 0 } } },
    ]);
  });

  it('does not store, but releases the lock, when the key is deleted during the load', async () => {
    const { locker, l2, processes } = fleet(1);
    const [p] = processes as [P];
    const answer = deferred<string>();

    const got = p.cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);
    await p.cache.delete('k');
    answer.resolve('old');

    expect(await got).toBe('old');
    await vi.advanceTimersByTimeAsync(0);
    expect(l2.peek('k')).toBeUndefined();
    expect(locker.released).toEqual(['k']);
  });

  it('counts the wait towards hardTimeout', async () => {
    const { processes } = fleet(2, { stampede: { waitTimeout: 5_000 } });
    const [holder, waiter] = processes as [P, P];

    void holder.cache.get('k', () => deferred<string>().promise);
    const got = waiter.cache.get('k', () => 'v', { hardTimeout: 500 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);

    expect(await got).toBeInstanceOf(LoaderTimeoutError);
  });
});

describe('when stampede protection applies', () => {
  it('does not lock a call made with stampede: false', async () => {
    const { locker, processes } = fleet(1);
    expect(await processes[0]?.cache.get('k', () => 'v', { stampede: false })).toBe('v');
    expect(locker.calls).toEqual([]);
  });

  it('locks only the calls that ask for it when the manager says stampede: false', async () => {
    const { locker, processes } = fleet(1, { stampede: false });
    const cache = processes[0]?.cache;
    await cache?.get('a', () => 1);
    await cache?.get('b', () => 2, { stampede: { waitTimeout: 100 } });
    expect(locker.calls.map((c) => c.resource)).toEqual(['b']);
  });

  it('does not use the locker without an L2', async () => {
    const locker = new FakeLocker();
    const { cache } = setup({ l2: null, locker });
    expect(await cache.get('k', () => 'v')).toBe('v');
    expect(locker.calls).toEqual([]);
  });

  it('does not lock a hit, nor a stale entry’s background refresh', async () => {
    const { locker, processes } = fleet(1, { ttl: 1_000, maxStale: 10_000 });
    const cache = processes[0]?.cache;
    await cache?.get('k', () => 'old');
    await cache?.get('k', () => 'unused');
    vi.advanceTimersByTime(1_500);
    expect(await cache?.get('k', () => 'new')).toBe('old');
    expect(locker.calls).toHaveLength(1);
  });
});

describe('stampede options', () => {
  it('rejects a locker without acquire()', () => {
    expect(() => setup({ locker: {} as never })).toThrow(/Invalid option "locker"/);
  });

  it('names a bad constructor setting', () => {
    expect(() => setup({ stampede: { waitTimeout: 0 } })).toThrow(
      /Invalid option "stampede.waitTimeout"/,
    );
  });

  it('names a bad per-call setting', async () => {
    const { cache } = setup({ locker: new FakeLocker() });
    const got = cache.get('k', () => 'v', { stampede: { pollInterval: -1 } });
    await expect(got).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(got).rejects.toThrow(/"stampede.pollInterval"/);
  });
});
