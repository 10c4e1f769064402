import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
import type { MemoryTierEventName, MemoryTierEvents } from './memory-tier.js';
import { memoryTier } from './memory-tier.js';
import type { MemoryTierOptions } from './options.js';

/** A tier on a fake clock that starts at 0. */
function setup(options: MemoryTierOptions = {}) {
  let now = 0;
  const tier = memoryTier({ clock: () => now, ...options });
  return {
    tier,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Records every event of the given kinds, in order. */
function record(
  tier: ReturnType<typeof memoryTier>,
  names: MemoryTierEventName[] = ['evict', 'expire', 'delete'],
) {
  const events: Array<{ name: MemoryTierEventName } & MemoryTierEvents[MemoryTierEventName]> = [];
  for (const name of names) tier.on(name, (e) => events.push({ name, ...e }));
  return events;
}

/** A size calculation that makes sizes easy to reason about: a string's length. */
const lengthSize = (value: unknown) => String(value).length;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('memoryTier reads and writes', () => {
  it('is named l1', () => {
    expect(memoryTier().name).toBe('l1');
  });

  it('returns undefined for a missing key', () => {
    expect(memoryTier().get('missing')).toBeUndefined();
  });

  it('lists its keys as a snapshot that later deletes do not disturb', () => {
    const tier = memoryTier();
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    const keys = tier.keys();
    for (const key of keys) tier.delete(key);
    expect([...keys].sort()).toEqual(['a', 'b']);
    expect(tier.keys()).toEqual([]);
  });

  it('answers synchronously, not with a promise', () => {
    const tier = memoryTier();
    tier.set('k', 'v', 1000);
    expect(tier.get('k')).toBe('v');
  });

  it.each([null, 0, '', false])('treats %j as a hit', (value) => {
    const tier = memoryTier();
    tier.set('k', value, 1000);
    expect(tier.get('k')).toBe(value);
    expect(tier.has('k')).toBe(true);
    expect(tier.getMany(['k'])).toEqual([{ hit: true, value }]);
  });

  it('returns getMany results in key order, with misses', () => {
    const tier = memoryTier();
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    expect(tier.getMany(['b', 'missing', 'a'])).toEqual([
      { hit: true, value: 2 },
      { hit: false },
      { hit: true, value: 1 },
    ]);
  });

  it('deletes: true when the key existed, then false', () => {
    const tier = memoryTier();
    tier.set('k', 1, 1000);
    expect(tier.delete('k')).toBe(true);
    expect(tier.delete('k')).toBe(false);
    expect(tier.get('k')).toBeUndefined();
  });

  it('clears every entry', () => {
    const tier = memoryTier();
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    tier.clear();
    expect(tier.size).toBe(0);
    expect(tier.calculatedSize).toBe(0);
    expect(tier.getMany(['a', 'b'])).toEqual([{ hit: false }, { hit: false }]);
  });

  it('counts entries in size', () => {
    const tier = memoryTier();
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    tier.set('a', 3, 1000);
    expect(tier.size).toBe(2);
  });

  it('returns the stored object itself with clone: none', () => {
    const tier = memoryTier();
    const value = { a: 1 };
    tier.set('k', value, 1000);
    expect(tier.get('k')).toBe(value);
  });
});

describe('memoryTier TTL', () => {
  it('keeps an entry until its ttl has passed, then misses', () => {
    const { tier, advance } = setup();
    tier.set('k', 'v', 1000);
    advance(1000);
    expect(tier.get('k')).toBe('v');
    advance(1);
    expect(tier.get('k')).toBeUndefined();
  });

  it('uses the ttl option when set is called without one', () => {
    const { tier, advance } = setup({ ttl: 5000 });
    tier.set('k', 'v');
    advance(5000);
    expect(tier.has('k')).toBe(true);
    advance(1);
    expect(tier.has('k')).toBe(false);
  });

  it('defaults to a 5-minute ttl', () => {
    const { tier, advance } = setup();
    tier.set('k', 'v');
    advance(300_000);
    expect(tier.get('k')).toBe('v');
    advance(1);
    expect(tier.get('k')).toBeUndefined();
  });

  it('lets a per-set ttl override the default', () => {
    const { tier, advance } = setup({ ttl: 60_000 });
    tier.set('short', 1, 100);
    tier.set('long', 2, 120_000);
    advance(90_000);
    expect(tier.getMany(['short', 'long'])).toEqual([{ hit: false }, { hit: true, value: 2 }]);
  });

  it('does not extend the ttl on reads', () => {
    const { tier, advance } = setup();
    tier.set('k', 'v', 1000);
    advance(600);
    tier.get('k');
    advance(600);
    expect(tier.get('k')).toBeUndefined();
  });

  it('restarts the ttl when a key is overwritten', () => {
    const { tier, advance } = setup();
    tier.set('k', 'old', 1000);
    advance(600);
    tier.set('k', 'new', 1000);
    advance(600);
    expect(tier.get('k')).toBe('new');
  });

  it('accepts a fractional ttl', () => {
    const { tier, advance } = setup();
    tier.set('k', 'v', 0.5);
    expect(tier.get('k')).toBe('v');
    advance(1);
    expect(tier.get('k')).toBeUndefined();
  });

  it('does not return an expired entry from peek', () => {
    const { tier, advance } = setup();
    tier.set('k', 'v', 1000);
    advance(1001);
    expect(tier.peek('k')).toBeUndefined();
  });

  it('frees expired entries with purgeExpired', () => {
    const { tier, advance } = setup();
    tier.set('a', 'v', 1000);
    tier.set('b', 'v', 5000);
    advance(2000);
    expect(tier.size).toBe(2);
    expect(tier.purgeExpired()).toBe(true);
    expect(tier.size).toBe(1);
    expect(tier.get('b')).toBe('v');
  });
});

describe('memoryTier eviction', () => {
  it('evicts the least recently used entry at max', () => {
    const tier = memoryTier({ max: 3 });
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    tier.set('c', 3, 1000);
    tier.get('a');
    tier.set('d', 4, 1000);
    expect(tier.getMany(['a', 'b', 'c', 'd']).map((r) => r.hit)).toEqual([true, false, true, true]);
  });

  it('does not count peek and has as a use', () => {
    const tier = memoryTier({ max: 2 });
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    tier.peek('a');
    tier.has('a');
    tier.set('c', 3, 1000);
    expect(tier.has('a')).toBe(false);
    expect(tier.has('b')).toBe(true);
  });

  it('evicts least recently used entries to stay within maxSize', () => {
    const tier = memoryTier({ maxSize: 100, sizeCalculation: lengthSize });
    tier.set('a', 'x'.repeat(40), 1000);
    tier.set('b', 'x'.repeat(40), 1000);
    tier.set('c', 'x'.repeat(40), 1000);
    expect(tier.has('a')).toBe(false);
    expect(tier.calculatedSize).toBe(80);
  });

  it('does not store a value larger than maxEntrySize, and does not throw', () => {
    const tier = memoryTier({ maxSize: 100, maxEntrySize: 50, sizeCalculation: lengthSize });
    tier.set('small', 'x', 1000);
    tier.set('big', 'x'.repeat(51), 1000);
    expect(tier.has('big')).toBe(false);
    expect(tier.has('small')).toBe(true);
  });

  it('drops the older value when an oversize value is written to the same key', () => {
    const tier = memoryTier({ maxSize: 100, sizeCalculation: lengthSize });
    tier.set('k', 'old', 1000);
    tier.set('k', 'x'.repeat(101), 1000);
    expect(tier.get('k')).toBeUndefined();
  });

  it('measures values with the default size estimate', () => {
    const tier = memoryTier();
    tier.set('k', 'x'.repeat(1_000_000), 1000);
    expect(tier.calculatedSize).toBeGreaterThanOrEqual(2_000_000);
    expect(tier.calculatedSize).toBeLessThan(2_001_000);
  });

  it('rejects a value over the default 50 MiB maxSize', () => {
    const tier = memoryTier();
    tier.set('k', 'x'.repeat(26 * 1024 * 1024), 1000);
    expect(tier.has('k')).toBe(false);
  });

  it('rounds custom sizes up to positive integers', () => {
    const tier = memoryTier({ maxSize: 100, sizeCalculation: () => 0.2 });
    tier.set('a', 1, 1000);
    tier.set('b', 1, 1000);
    expect(tier.calculatedSize).toBe(2);
  });

  it('keeps no byte count with maxSize: false', () => {
    const tier = memoryTier({ maxSize: false, max: 2 });
    tier.set('k', 'x'.repeat(1000), 1000);
    expect(tier.get('k')).toBe('x'.repeat(1000));
    expect(tier.calculatedSize).toBe(0);
  });
});

describe('memoryTier events', () => {
  it('reports an LRU eviction as evict with reason capacity', () => {
    const tier = memoryTier({ max: 1 });
    const events = record(tier);
    tier.set('a', 1, 1000);
    tier.set('b', 2, 1000);
    expect(events).toEqual([{ name: 'evict', key: 'a', reason: 'capacity' }]);
  });

  it('reports a maxSize eviction as evict with reason capacity', () => {
    const tier = memoryTier({ maxSize: 10, sizeCalculation: lengthSize });
    const events = record(tier);
    tier.set('a', 'xxxxxx', 1000);
    tier.set('b', 'xxxxxx', 1000);
    expect(events).toEqual([{ name: 'evict', key: 'a', reason: 'capacity' }]);
  });

  it('reports an oversize value as evict with reason oversize', () => {
    const tier = memoryTier({ maxSize: 10, sizeCalculation: lengthSize });
    const events = record(tier);
    tier.set('k', 'x'.repeat(11), 1000);
    expect(events).toEqual([{ name: 'evict', key: 'k', reason: 'oversize' }]);
  });

  it('reports expiry when an expired entry is read', () => {
    const { tier, advance } = setup();
    const events = record(tier);
    tier.set('k', 1, 1000);
    advance(1001);
    expect(events).toEqual([]);
    tier.get('k');
    expect(events).toEqual([{ name: 'expire', key: 'k', reason: 'ttl' }]);
  });

  it('reports expiry for expired entries read through getMany', () => {
    const { tier, advance } = setup();
    const events = record(tier);
    tier.set('k', 1, 1000);
    advance(1001);
    tier.getMany(['k']);
    expect(events).toEqual([{ name: 'expire', key: 'k', reason: 'ttl' }]);
  });

  it('reports an expired entry pushed out by capacity as expire, not evict', () => {
    const { tier, advance } = setup({ max: 1 });
    const events = record(tier);
    tier.set('a', 1, 1000);
    advance(1001);
    tier.set('b', 2, 1000);
    expect(events).toEqual([{ name: 'expire', key: 'a', reason: 'ttl' }]);
  });

  it('reports expiry for each entry removed by purgeExpired', () => {
    const { tier, advance } = setup();
    const events = record(tier);
    tier.set('a', 1, 1000);
    tier.set('b', 1, 1000);
    advance(1001);
    tier.purgeExpired();
    expect(events.map((e) => [e.name, e.key]).sort()).toEqual([
      ['expire', 'a'],
      ['expire', 'b'],
    ]);
  });

  it('reports delete for a deleted live entry', () => {
    const tier = memoryTier();
    const events = record(tier);
    tier.set('a', 1, 1000);
    tier.set('b', 1, 1000);
    tier.delete('a');
    tier.delete('b');
    expect(events).toEqual([
      { name: 'delete', key: 'a', reason: 'delete' },
      { name: 'delete', key: 'b', reason: 'delete' },
    ]);
  });

  it('reports nothing when deleting a missing key', () => {
    const tier = memoryTier();
    const events = record(tier);
    tier.delete('missing');
    expect(events).toEqual([]);
  });

  it('treats deleting an expired entry as a miss that reports expire', () => {
    const { tier, advance } = setup();
    const events = record(tier);
    tier.set('k', 1, 1000);
    advance(1001);
    expect(tier.delete('k')).toBe(false);
    expect(tier.size).toBe(0);
    expect(events).toEqual([{ name: 'expire', key: 'k', reason: 'ttl' }]);
  });

  it('reports nothing for an overwrite', () => {
    const tier = memoryTier();
    const events = record(tier);
    tier.set('k', 1, 1000);
    tier.set('k', 2, 1000);
    expect(events).toEqual([]);
  });

  it('reports nothing per key on clear', () => {
    const tier = memoryTier();
    const events = record(tier);
    for (let i = 0; i < 100; i++) tier.set(`k${i}`, i, 1000);
    tier.clear();
    expect(events).toEqual([]);
  });

  it('delivers only the events a listener subscribed to', () => {
    const tier = memoryTier({ max: 1 });
    const events = record(tier, ['delete']);
    tier.set('a', 1, 1000);
    tier.set('b', 1, 1000);
    tier.delete('b');
    expect(events).toEqual([{ name: 'delete', key: 'b', reason: 'delete' }]);
  });

  it('stops delivering after unsubscribe', () => {
    const tier = memoryTier();
    const listener = vi.fn();
    const unsubscribe = tier.on('delete', listener);
    tier.set('a', 1, 1000);
    tier.delete('a');
    unsubscribe();
    tier.set('b', 1, 1000);
    tier.delete('b');
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('tolerates unsubscribing twice without removing other listeners', () => {
    const tier = memoryTier();
    const kept = vi.fn();
    const unsubscribe = tier.on('delete', vi.fn());
    tier.on('delete', kept);
    unsubscribe();
    unsubscribe();
    tier.set('a', 1, 1000);
    tier.delete('a');
    expect(kept).toHaveBeenCalledTimes(1);
  });

  it('lets a listener call back into the tier', () => {
    const tier = memoryTier();
    tier.on('delete', ({ key }) => tier.set(`deleted:${key}`, true, 1000));
    tier.set('a', 1, 1000);
    tier.delete('a');
    expect(tier.get('deleted:a')).toBe(true);
    expect(tier.size).toBe(1);
  });

  it('rethrows a listener error asynchronously and keeps the cache consistent', () => {
    const scheduled: Array<() => void> = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => scheduled.push(task));
    const tier = memoryTier();
    const after = vi.fn();
    tier.on('delete', () => {
      throw new Error('listener failed');
    });
    tier.on('delete', after);
    tier.set('k', 1, 1000);
    expect(tier.delete('k')).toBe(true);
    expect(after).toHaveBeenCalledTimes(1);
    expect(tier.size).toBe(0);
    expect(scheduled).toHaveLength(1);
    expect(() => scheduled[0]?.()).toThrow('listener failed');
  });
});

describe('memoryTier clone modes', () => {
  it('freeze: the stored object cannot be mutated', () => {
    const tier = memoryTier({ clone: 'freeze' });
    tier.set('k', { user: { name: 'Ada' }, tags: ['a'] }, 1000);
    const value = tier.get('k') as { user: { name: string }; tags: string[] };
    expect(() => {
      value.user.name = 'Eve';
    }).toThrow(TypeError);
    expect(() => value.tags.push('b')).toThrow(TypeError);
    expect(tier.get('k')).toEqual({ user: { name: 'Ada' }, tags: ['a'] });
  });

  it('freeze: freezes the caller object in place and returns it on reads', () => {
    const tier = memoryTier({ clone: 'freeze' });
    const value = { a: 1 };
    tier.set('k', value, 1000);
    expect(Object.isFrozen(value)).toBe(true);
    expect(tier.get('k')).toBe(value);
  });

  it('freeze: stores a cyclic value', () => {
    const tier = memoryTier({ clone: 'freeze' });
    const value: { self?: unknown } = {};
    value.self = value;
    tier.set('k', value, 1000);
    expect(tier.get('k')).toBe(value);
  });

  it('structured: a read returns a copy, so mutating it does not change the cache', () => {
    const tier = memoryTier({ clone: 'structured' });
    tier.set('k', { list: [1, 2] }, 1000);
    const first = tier.get('k') as { list: number[] };
    first.list.push(3);
    expect(tier.get('k')).toEqual({ list: [1, 2] });
    expect(tier.get('k')).not.toBe(tier.get('k'));
  });

  it('structured: mutating the original after set does not change the cache', () => {
    const tier = memoryTier({ clone: 'structured' });
    const value = { n: 1 };
    tier.set('k', value, 1000);
    value.n = 2;
    expect(tier.get('k')).toEqual({ n: 1 });
  });

  it('structured: getMany and peek return copies too', () => {
    const tier = memoryTier({ clone: 'structured' });
    const value = { n: 1 };
    tier.set('k', value, 1000);
    const [result] = tier.getMany(['k']);
    expect(result).toEqual({ hit: true, value: { n: 1 } });
    expect(result?.hit && result.value).not.toBe(tier.peek('k'));
  });

  it('structured: a value that cannot be cloned throws InvalidValueError with the cause', () => {
    const tier = memoryTier({ clone: 'structured' });
    const error = captureError(() => tier.set('k', { fn: () => 1 }, 1000));
    expect(error).toBeInstanceOf(InvalidValueError);
    expect((error as InvalidValueError).cause).toBeInstanceOf(Error);
    expect(tier.has('k')).toBe(false);
  });
});

describe('memoryTier errors', () => {
  it('rejects undefined with InvalidValueError', () => {
    const tier = memoryTier();
    tier.set('k', 'old', 1000);
    const error = captureError(() => tier.set('k', undefined, 1000));
    expect(error).toBeInstanceOf(InvalidValueError);
    expect((error as InvalidValueError).code).toBe('E_INVALID_VALUE');
    expect(tier.get('k')).toBe('old');
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000'])(
    'rejects ttl %j with InvalidTtlError',
    (ttl) => {
      const tier = memoryTier();
      const error = captureError(() => tier.set('k', 'v', ttl as number));
      expect(error).toBeInstanceOf(InvalidTtlError);
      expect((error as InvalidTtlError).code).toBe('E_INVALID_TTL');
      expect(tier.has('k')).toBe(false);
    },
  );

  it.each([
    [{ max: 0 }, 'options.max'],
    [{ max: 1.5 }, 'options.max'],
    [{ maxSize: -1 }, 'options.maxSize'],
    [{ maxSize: true }, 'options.maxSize'],
    [{ ttl: 0 }, 'options.ttl'],
    [{ clone: 'deep' }, 'options.clone'],
    [{ clock: 42 }, 'options.clock'],
    [{ sizeCalculation: 'length' }, 'options.sizeCalculation'],
    [{ ttL: 1000 }, 'options.ttL: unknown option'],
    [{ maxSize: 100, maxEntrySize: 101 }, 'options.maxEntrySize'],
    [{ maxSize: false, maxEntrySize: 10 }, 'options.maxEntrySize'],
    [{ maxSize: false, sizeCalculation: () => 1 }, 'options.sizeCalculation'],
  ])('rejects %j with InvalidOptionsError naming the field', (options, field) => {
    const error = captureError(() => memoryTier(options as MemoryTierOptions));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe('E_INVALID_OPTIONS');
    expect((error as Error).message).toContain(field);
  });

  it('rejects a sizeCalculation result that is not a size', () => {
    const tier = memoryTier({ sizeCalculation: () => Number.NaN });
    const error = captureError(() => tier.set('k', 'v', 1000));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toContain('options.sizeCalculation');
  });

  it('rejects an unknown event name', () => {
    const tier = memoryTier();
    const error = captureError(() => tier.on('set' as MemoryTierEventName, () => {}));
    expect(error).toBeInstanceOf(InvalidOptionsError);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
