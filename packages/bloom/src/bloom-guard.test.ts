import bloomFilters from 'bloom-filters';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bloomGuard } from './bloom-guard.js';
import { BloomUnavailableError, InvalidOptionsError } from './errors.js';
import { inProcessBloom } from './in-process-bloom.js';

const filterOf = (...keys: string[]) => {
  const filter = inProcessBloom({ expectedItems: 100 });
  filter.addMany(keys);
  return filter;
};

/** A filter whose answer the test settles by hand. */
function pendingFilter() {
  let settle!: { resolve: (value: boolean) => void; reject: (error: unknown) => void };
  const filter = {
    has: () =>
      new Promise<boolean>((resolve, reject) => {
        settle = { resolve, reject };
      }),
  };
  return { filter, settle: () => settle };
}

describe('bloomGuard', () => {
  it('answers synchronously from an in-process filter', () => {
    const guard = bloomGuard({ filter: filterOf('user:1') });
    expect(guard.mightExist('user:1')).toBe(true);
    expect(guard.mightExist('user:2')).toBe(false);
  });

  it('awaits an asynchronous filter', async () => {
    const filter = filterOf('user:1');
    const guard = bloomGuard({ filter: { has: async (key) => filter.has(key) } });
    await expect(guard.mightExist('user:1')).resolves.toBe(true);
    await expect(guard.mightExist('user:2')).resolves.toBe(false);
  });

  it('works with a raw bloom-filters BloomFilter', () => {
    const raw = bloomFilters.BloomFilter.create(100, 0.01);
    raw.add('user:1');
    const guard = bloomGuard({ filter: raw });
    expect(guard.mightExist('user:1')).toBe(true);
    expect(guard.mightExist('user:2')).toBe(false);
  });

  it('counts checks and absent answers', () => {
    const guard = bloomGuard({ filter: filterOf('a') });
    guard.mightExist('a');
    guard.mightExist('b');
    expect(guard.stats).toEqual({ checks: 2, absent: 1, failedOpen: 0 });
  });

  it('rejects a filter without has, naming the field', () => {
    expect(() => bloomGuard({ filter: {} as never })).toThrow(InvalidOptionsError);
    expect(() => bloomGuard({ filter: {} as never })).toThrow(/filter: expected a filter/);
  });

  it('rejects a bad timeout, naming the field', () => {
    expect(() => bloomGuard({ filter: filterOf(), timeout: 0 })).toThrow(/timeout/);
  });
});

describe('bloomGuard fails open', () => {
  it('says "might exist" when the filter throws', () => {
    const onError = vi.fn();
    const failure = new BloomUnavailableError('down');
    const guard = bloomGuard({
      filter: {
        has: () => {
          throw failure;
        },
      },
      onError,
    });
    expect(guard.mightExist('user:1')).toBe(true);
    expect(onError).toHaveBeenCalledWith(failure, 'user:1');
    expect(guard.stats.failedOpen).toBe(1);
  });

  it('says "might exist" when the filter rejects', async () => {
    const onError = vi.fn();
    const failure = new BloomUnavailableError('down');
    const guard = bloomGuard({ filter: { has: () => Promise.reject(failure) }, onError });
    await expect(guard.mightExist('user:1')).resolves.toBe(true);
    expect(onError).toHaveBeenCalledWith(failure, 'user:1');
  });

  it('wraps a non-Error rejection in BloomUnavailableError', async () => {
    const onError = vi.fn();
    const guard = bloomGuard({ filter: { has: () => Promise.reject('nope') }, onError });
    await guard.mightExist('k');
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(BloomUnavailableError);
    expect(onError.mock.calls[0]?.[0].cause).toBe('nope');
  });

  it('survives an onError hook that throws', () => {
    const guard = bloomGuard({
      filter: {
        has: () => {
          throw new Error('down');
        },
      },
      onError: () => {
        throw new Error('logger broke');
      },
    });
    expect(guard.mightExist('k')).toBe(true);
  });

  describe('with a slow filter', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('says "might exist" after the timeout', async () => {
      const onError = vi.fn();
      const { filter } = pendingFilter();
      const guard = bloomGuard({ filter, timeout: 100, onError });
      const answer = guard.mightExist('k');
      await vi.advanceTimersByTimeAsync(100);
      await expect(answer).resolves.toBe(true);
      expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(BloomUnavailableError);
      expect(onError.mock.calls[0]?.[0].message).toMatch(/more than 100 ms/);
    });

    it('keeps waiting before the timeout', async () => {
      const { filter, settle } = pendingFilter();
      const guard = bloomGuard({ filter, timeout: 100 });
      const answer = guard.mightExist('k');
      await vi.advanceTimersByTimeAsync(99);
      settle().resolve(false);
      await expect(answer).resolves.toBe(false);
      expect(guard.stats.failedOpen).toBe(0);
    });

    it('ignores a late answer after the timeout', async () => {
      const { filter, settle } = pendingFilter();
      const guard = bloomGuard({ filter, timeout: 100 });
      const answer = guard.mightExist('k');
      await vi.advanceTimersByTimeAsync(100);
      settle().resolve(false);
      await expect(answer).resolves.toBe(true);
      expect(guard.stats).toEqual({ checks: 1, absent: 0, failedOpen: 1 });
    });

    it('waits as long as it takes with timeout false', async () => {
      const { filter, settle } = pendingFilter();
      const guard = bloomGuard({ filter, timeout: false });
      const answer = guard.mightExist('k');
      await vi.advanceTimersByTimeAsync(60_000);
      settle().resolve(false);
      await expect(answer).resolves.toBe(false);
    });
  });
});

describe('BloomGuard.wrap', () => {
  it('answers a definitely absent key with onAbsent, without the lookup', async () => {
    const lookup = vi.fn(async (id: string) => ({ id }));
    const guard = bloomGuard({ filter: filterOf('user:1') });
    const getUser = guard.wrap(lookup, { onAbsent: () => null });
    await expect(getUser('user:2')).resolves.toBeNull();
    expect(lookup).not.toHaveBeenCalled();
  });

  it('runs the lookup for a key that might exist', async () => {
    const guard = bloomGuard({ filter: filterOf('user:1') });
    const getUser = guard.wrap(async (id: string) => ({ id }), { onAbsent: () => null });
    await expect(getUser('user:1')).resolves.toEqual({ id: 'user:1' });
  });

  it('runs the lookup when the filter fails', async () => {
    const guard = bloomGuard({ filter: { has: () => Promise.reject(new Error('down')) } });
    const getUser = guard.wrap(async (id: string) => ({ id }), { onAbsent: () => null });
    await expect(getUser('user:1')).resolves.toEqual({ id: 'user:1' });
  });

  it('derives the filter key with key()', async () => {
    const guard = bloomGuard({ filter: filterOf('user:7') });
    const getUser = guard.wrap(async (id: number, _fields: string[]) => ({ id }), {
      key: (id) => `user:${id}`,
      onAbsent: async (id) => ({ id, missing: true }),
    });
    await expect(getUser(7, [])).resolves.toEqual({ id: 7 });
    await expect(getUser(8, [])).resolves.toEqual({ id: 8, missing: true });
  });
});
