import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidEntryError } from './errors.js';
import { AsyncTier, FailingTier, FakeTierError, MapTier, setup } from './test-support/index.js';
import type { CacheTier } from './tier.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const modes = ['throw', 'reject'] as const;

describe('a failing tier never fails a read the loader can answer', () => {
  it.each(modes)('L1 that fails (%s) on every call', async (mode) => {
    const { cache, of } = setup({ l1: new FailingTier('l1', mode) });

    expect(await cache.get('k', () => 'v')).toBe('v');
    expect(of('tier:error')).toContainEqual({
      tier: 'l1',
      operation: 'get',
      key: 'k',
      error: expect.any(FakeTierError),
    });
  });

  it.each(modes)('L2 that fails (%s) on every call', async (mode) => {
    const { cache, of } = setup({ l2: new FailingTier('l2', mode) });

    expect(await cache.get('k', () => 'v')).toBe('v');
    await vi.advanceTimersByTimeAsync(0);
    expect(of('tier:error').map((e) => e.operation)).toEqual(['get', 'set']);
  });

  it.each(modes)(
    'both tiers failing (%s): still answers, and again on the next get',
    async (mode) => {
      const { cache } = setup({ l1: new FailingTier('l1', mode), l2: new FailingTier('l2', mode) });
      const loader = vi.fn(() => 'v');

      expect(await cache.get('k', loader)).toBe('v');
      expect(await cache.get('k', loader)).toBe('v');
      expect(loader).toHaveBeenCalledTimes(2);
    },
  );

  it.each(modes)(
    'set, delete, getMany and clear resolve despite a tier failing (%s)',
    async (mode) => {
      const { cache, of } = setup({ l2: new FailingTier('l2', mode) });

      await cache.set('k', 'v');
      expect(await cache.getMany(['k', 'x'])).toEqual(new Map([['k', 'v']]));
      expect(await cache.delete('k')).toBe(true);
      await cache.clear();

      expect(of('tier:error').map((e) => e.operation)).toEqual([
        'set',
        'getMany',
        'delete',
        'clear',
      ]);
    },
  );

  it('does not wait for the L2 write after a load', async () => {
    const l2 = new MapTier('l2');
    const { cache } = setup({ l2: new AsyncTier(l2, 1_000) });
    const get = cache.get('k', () => 'v');
    await vi.advanceTimersByTimeAsync(1_000); // the L2 read

    expect(await get).toBe('v');
    expect(l2.peek('k')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(l2.peek('k')).toBeDefined();
  });

  it('reports a tier error without a code through its name', async () => {
    const tier: CacheTier = {
      name: 'odd',
      get: () => {
        throw 'a string';
      },
      getMany: () => [],
      set: () => {},
      delete: () => false,
      clear: () => {},
    };
    const { cache, of } = setup({ l1: tier });

    await cache.get('k', () => 'v');
    expect(of('tier:error')[0]?.error).toBeInstanceOf(Error);
    expect(of('tier:error')[0]?.error.message).toBe('a string');
  });
});

describe('payloads that are not entries', () => {
  it.each([
    ['a bare value', 'hello'],
    ['an object without timestamps', { v: 1 }],
    ['a number', 42],
    ['null', null],
  ])('treats %s in L2 as a miss, reports E_INVALID_ENTRY and overwrites it', async (_, raw) => {
    const { cache, l2, of } = setup({ l1: null });
    l2.put('k', raw);
    const loader = vi.fn(() => 'fresh');

    expect(await cache.get('k', loader)).toBe('fresh');
    expect(loader).toHaveBeenCalledTimes(1);
    const [event] = of('tier:error');
    expect(event).toMatchObject({ tier: 'l2', operation: 'get', key: 'k' });
    expect(event?.error).toBeInstanceOf(InvalidEntryError);
    expect(event?.error).toMatchObject({ code: 'E_INVALID_ENTRY' });
    expect(l2.peek('k')).toMatchObject({ v: 'fresh' });
  });

  it('treats a foreign value in L1 the same way', async () => {
    const { cache, l1, of } = setup();
    l1.put('k', 'not an entry');

    expect(await cache.get('k', () => 'fresh')).toBe('fresh');
    expect(of('tier:error')[0]?.error.code).toBe('E_INVALID_ENTRY');
    expect(l1.peek('k')).toMatchObject({ v: 'fresh' });
  });

  it('accepts a plain-object entry (as decoded from JSON) and stores it as one', async () => {
    const { cache, l2, l1 } = setup();
    const now = Date.now();
    l2.put('k', { v: 0, c: now, f: now + 1_000, s: now + 1_000, d: 0 });

    expect(await cache.get('k', () => 'unused')).toBe(0);
    expect(l1.peek('k')).toMatchObject({ v: 0 });
  });

  it('reports a corrupt payload from the tier with the tier error code', async () => {
    class CorruptPayloadError extends Error {
      readonly code = 'E_CORRUPT_PAYLOAD';
    }
    const l2 = new MapTier('l2');
    vi.spyOn(l2, 'get').mockImplementation(() => {
      throw new CorruptPayloadError('bad header byte');
    });
    const { cache, of } = setup({ l2 });

    expect(await cache.get('k', () => 'v')).toBe('v');
    expect(of('tier:error')[0]?.error.code).toBe('E_CORRUPT_PAYLOAD');
  });
});

describe('logging tier failures', () => {
  it('warns once per failure class, then logs repeats at debug', async () => {
    const { cache, logger } = setup({ l1: null, l2: new FailingTier('l2', 'reject') });

    for (let i = 0; i < 50; i++) await cache.get(`k${i}`, () => 'v', { ttl: 1 });
    await vi.advanceTimersByTimeAsync(0);

    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'tiercache: l2 get failed (E_FAKE_TIER); continuing without it',
      'tiercache: l2 set failed (E_FAKE_TIER); continuing without it',
    ]);
    expect(logger.lines.filter((l) => l.level === 'debug')).toHaveLength(98);
  });

  it('warns again after the throttle window with the number suppressed', async () => {
    const { cache, logger } = setup({ l1: null, l2: new FailingTier('l2', 'reject') });
    for (let i = 0; i < 3; i++) await cache.get('k', () => undefined);
    vi.advanceTimersByTime(30_000);
    await cache.get('k', () => undefined);

    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(2);
    expect(warns[1]?.meta).toMatchObject({ suppressed: 2 });
  });

  it('logs failed deletes at error level', async () => {
    const { cache, logger } = setup({ l2: new FailingTier('l2', 'reject') });
    await cache.delete('k');
    expect(logger.lines.map((l) => l.level)).toEqual(['error']);
  });
});
