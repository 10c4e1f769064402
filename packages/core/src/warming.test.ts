import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import { deferred, FailingTier, MapTier, setup } from './test-support/index.js';
import { type WarmSpec, type WarmSpecReport, warm } from './warming.js';

const keys = (n: number, prefix = 'k'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** The value a manager answers for `key` without loading. */
function cached(cache: ReturnType<typeof setup>['cache'], key: string): Promise<unknown> {
  return cache.get(key, () => {
    throw new Error(`${key} was not warmed`);
  });
}

async function* slowly<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

describe('warm', () => {
  it('loads every key of a keys spec into L1 and L2 and reports the counts', async () => {
    const { cache, l1, l2 } = setup();

    const report = await warm(cache, [
      { name: 'users', keys: ['user:1', 'user:2'], load: (key) => ({ id: key }) },
    ]);

    expect(report).toMatchObject({ status: 'completed', stored: 2, skipped: 0, errors: 0 });
    expect(report.specs).toEqual([
      expect.objectContaining({ name: 'users', done: 2, stored: 2, finished: true }),
    ]);
    expect(l1.peek('user:1')).toBeDefined();
    expect(l2.peek('user:2')).toBeDefined();
    expect(await cached(cache, 'user:2')).toEqual({ id: 'user:2' });
  });

  it('stores the pairs of an entries spec without any per-key load', async () => {
    const { cache } = setup();
    const rows = new Map([
      ['agent:1', { score: 0 }],
      ['agent:2', { score: 7 }],
    ]);

    const report = await warm(cache, [{ name: 'agents', entries: async () => rows }]);

    expect(report.stored).toBe(2);
    expect(await cached(cache, 'agent:1')).toEqual({ score: 0 });
  });

  it('accepts keys from an async iterable and from a function resolving to an array', async () => {
    const { cache } = setup();

    const report = await warm(cache, [
      { name: 'a', keys: slowly(keys(3, 'a')), load: (key) => key },
      { name: 'b', keys: async () => keys(2, 'b'), load: (key) => key },
    ]);

    expect(report.specs.map((s) => s.stored)).toEqual([3, 2]);
  });

  it('never has more than `concurrency` loads in flight', async () => {
    const { cache } = setup();
    let inFlight = 0;
    let maxInFlight = 0;
    const load = async (key: string): Promise<string> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return key;
    };

    const report = await warm(
      cache,
      [
        { name: 'first', keys: keys(60), load },
        { name: 'second', keys: slowly(keys(40, 's')), load },
      ],
      { concurrency: 7 },
    );

    expect(report.stored).toBe(100);
    expect(maxInFlight).toBe(7);
  });

  it('counts a key whose load fails, keeps a sample of the error, and goes on', async () => {
    const { cache } = setup();
    const boom = new Error('db said no');

    const report = await warm(cache, [
      {
        name: 'users',
        keys: keys(5),
        load: (key) => {
          if (key === 'k2') throw boom;
          return key;
        },
      },
    ]);

    expect(report).toMatchObject({ status: 'completed', stored: 4, errors: 1 });
    expect(report.specs[0]?.failures).toEqual([{ key: 'k2', error: boom }]);
  });

  it('counts a key the L2 tier failed to store as an error', async () => {
    const { cache } = setup({ l2: new FailingTier('l2', 'reject') });

    const report = await warm(cache, [{ name: 'users', keys: keys(3), load: (key) => key }]);

    expect(report).toMatchObject({ stored: 0, errors: 3 });
    expect(report.specs[0]?.failures[0]?.error).toMatchObject({ code: 'E_FAKE_TIER' });
  });

  it('skips a key whose load returns undefined, and caches null', async () => {
    const { cache } = setup();

    const report = await warm(cache, [
      { name: 'users', keys: ['gone', 'none'], load: (key) => (key === 'none' ? null : undefined) },
    ]);

    expect(report).toMatchObject({ stored: 1, skipped: 1 });
    expect(await cached(cache, 'none')).toBeNull();
  });

  it('counts a failing source as one error of its spec and warms the next spec', async () => {
    const { cache } = setup();

    const report = await warm(cache, [
      {
        name: 'broken',
        keys: async () => {
          throw new Error('query failed');
        },
        load: (key) => key,
      },
      { name: 'fine', keys: ['a'], load: (key) => key },
    ]);

    expect(report.status).toBe('completed');
    expect(report.specs[0]).toMatchObject({ name: 'broken', errors: 1, finished: true });
    expect(report.specs[0]?.failures[0]).toMatchObject({ key: undefined });
    expect(report.specs[1]).toMatchObject({ name: 'fine', stored: 1 });
  });

  it('counts an entry that is not a [key, value] pair as an error', async () => {
    const { cache } = setup();
    const entries = [['ok', 1], ['', 2], 'nonsense'] as unknown as Array<readonly [string, number]>;

    const report = await warm(cache, [{ name: 'rows', entries }]);

    expect(report).toMatchObject({ stored: 1, errors: 2 });
    expect(report.specs[0]?.failures[0]?.error).toMatchObject({ code: 'E_INVALID_KEY' });
  });

  it('with stopOnError, stops at the first failure and starts nothing more', async () => {
    const { cache } = setup();
    const load = vi.fn((key: string) => {
      if (key === 'k3') throw new Error('bad row');
      return key;
    });

    const report = await warm(cache, [{ name: 'users', keys: keys(50), load }], {
      concurrency: 1,
      stopOnError: true,
    });

    expect(report).toMatchObject({ status: 'stopped', stored: 3, errors: 1 });
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('on abort, lets in-flight loads finish, starts no new ones and closes the source', async () => {
    const { cache } = setup();
    const controller = new AbortController();
    const gate = deferred<void>();
    let closed = false;
    function* source(): Generator<string> {
      try {
        yield* keys(100);
      } finally {
        closed = true;
      }
    }
    const signals: AbortSignal[] = [];
    const load = vi.fn(async (key: string, { signal }: { signal: AbortSignal }) => {
      signals.push(signal);
      await gate.promise;
      return key;
    });

    const warming = warm(cache, [{ name: 'users', keys: source, load }], {
      concurrency: 4,
      signal: controller.signal,
    });
    await vi.waitFor(() => expect(load).toHaveBeenCalledTimes(4));
    controller.abort();
    gate.resolve();
    const report = await warming;

    expect(report).toMatchObject({ status: 'aborted', stored: 4 });
    expect(load).toHaveBeenCalledTimes(4);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(closed).toBe(true);
  });

  it('does nothing when the signal is already aborted', async () => {
    const { cache } = setup();
    const load = vi.fn((key: string) => key);

    const report = await warm(cache, [{ name: 'users', keys: keys(3), load }], {
      signal: AbortSignal.abort(),
    });

    expect(report).toMatchObject({ status: 'aborted', stored: 0 });
    expect(load).not.toHaveBeenCalled();
  });

  it('stops when the cache is closed under it', async () => {
    const { cache } = setup();
    const load = vi.fn(async (key: string) => {
      if (key === 'k1') await cache.close();
      return key;
    });

    const report = await warm(cache, [{ name: 'users', keys: keys(20), load }], {
      concurrency: 1,
    });

    expect(report.status).toBe('aborted');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('reports progress every `progressEvery` items and once when a spec finishes', async () => {
    const { cache } = setup();
    const seen: WarmSpecReport[] = [];

    await warm(
      cache,
      [
        { name: 'a', keys: keys(25), load: (key) => key },
        { name: 'b', entries: [['x', 1]] },
      ],
      { progressEvery: 10, concurrency: 3, onProgress: (p) => seen.push(p) },
    );

    expect(seen.map((p) => [p.name, p.done, p.finished])).toEqual([
      ['a', 10, false],
      ['a', 20, false],
      ['a', 25, true],
      ['b', 1, true],
    ]);
  });

  it('measures each spec with the injected clock', async () => {
    const { cache } = setup();
    let now = 0;

    const report = await warm(
      cache,
      [
        {
          name: 'slow',
          keys: ['a'],
          load: (key) => {
            now += 250;
            return key;
          },
        },
      ],
      { clock: () => now },
    );

    expect(report.specs[0]?.durationMs).toBe(250);
    expect(report.durationMs).toBe(250);
  });

  it('warms specs in the order given', async () => {
    const { cache } = setup({ l2: new MapTier('l2') });
    const order: string[] = [];
    const load = (key: string): string => {
      order.push(key);
      return key;
    };

    await warm(
      cache,
      [
        { name: 'first', keys: keys(3, 'a'), load },
        { name: 'second', keys: keys(3, 'b'), load },
      ],
      { concurrency: 1 },
    );

    expect(order).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
  });

  it.each<[unknown, RegExp]>([
    [[{ name: '', keys: [], load: () => 1 }], /specs\[0\]\.name/],
    [[{ name: 'x', load: () => 1 }], /exactly one of keys or entries/],
    [[{ name: 'x', keys: ['a'] }], /specs\[0\]\.load/],
    [[{ name: 'x', keys: 42, load: () => 1 }], /specs\[0\]\.keys/],
    [[{ name: 'x', entries: [], ttl: -1 }], /specs\[0\]\.ttl/],
  ])('rejects invalid specs, naming the field (%#)', async (specs, message) => {
    const { cache } = setup();

    await expect(warm(cache, specs as unknown as WarmSpec[])).rejects.toThrow(message);
    await expect(warm(cache, specs as unknown as WarmSpec[])).rejects.toBeInstanceOf(
      InvalidOptionsError,
    );
  });

  it.each([
    [{ concurrency: 0 }, /"concurrency"/],
    [{ progressEvery: 1.5 }, /"progressEvery"/],
    [{ bogus: true }, /"bogus"/],
  ])('rejects invalid options, naming the field (%#)', async (options, message) => {
    const { cache } = setup();

    await expect(warm(cache, [], options as never)).rejects.toThrow(message);
  });
});
