import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import {
  deferred,
  MapTier,
  MemoryBusHub,
  setup,
  starMatcher,
  VersionedMapTier,
} from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

async function filled() {
  const hub = new MemoryBusHub();
  const l2 = new VersionedMapTier('l2');
  const a = setup({ l2, bus: hub.connect(), matchPattern: starMatcher });
  for (const key of ['t:acme:1', 't:acme:2', 't:other:1']) await a.cache.get(key, () => key);
  return { hub, l2, a };
}

describe('invalidatePattern', () => {
  it('deletes the matching keys from L2 and L1, keeps the others, and says how many', async () => {
    const { l2, a } = await filled();

    expect(await a.cache.invalidatePattern('t:acme:*')).toBe(2);

    expect(l2.keys()).toEqual(['t:other:1']);
    expect(a.l1.keys()).toEqual(['t:other:1']);
  });

  it('publishes the pattern after L2 was cleaned', async () => {
    const { hub, l2, a } = await filled();
    const seen: string[][] = [];
    hub.buses[0]!.publish = (message) => {
      seen.push(l2.keys());
      hub.buses[0]!.published.push(message);
      return Promise.resolve();
    };

    await a.cache.invalidatePattern('t:acme:*');

    expect(hub.buses[0]!.published).toEqual([{ type: 'pattern', pattern: 't:acme:*' }]);
    expect(seen).toEqual([['t:other:1']]);
  });

  it('detaches loads in flight for matching keys', async () => {
    const { l2, a } = await filled();
    const answer = deferred<string>();
    const get = a.cache.get('t:acme:3', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await a.cache.invalidatePattern('t:acme:*');
    answer.resolve('old');
    await get;

    expect(l2.peek('t:acme:3')).toBeUndefined();
  });

  it('clears all of L1 when there is no matcher', async () => {
    const l2 = new VersionedMapTier('l2');
    const a = setup({ l2 });
    await a.cache.get('t:acme:1', () => 1);
    await a.cache.get('t:other:1', () => 2);

    await a.cache.invalidatePattern('t:acme:*');

    expect(a.l1.size).toBe(0);
    expect(l2.keys()).toEqual(['t:other:1']);
  });

  it('works on L1 alone, counting the L1 entries dropped', async () => {
    const a = setup({ l2: null, matchPattern: starMatcher });
    await a.cache.get('t:acme:1', () => 1);

    expect(await a.cache.invalidatePattern('t:acme:*')).toBe(1);
  });

  it('needs an L2 with deleteMatching, and a non-empty pattern', async () => {
    const a = setup({ l2: new MapTier('l2') });
    await expect(a.cache.invalidatePattern('x*')).rejects.toThrow(InvalidOptionsError);
    await expect(a.cache.invalidatePattern('')).rejects.toThrow(/pattern/);
  });

  it('emits an L2 failure and still tells the other instances', async () => {
    const { hub, l2, a } = await filled();
    l2.deleteMatching = () => {
      throw new Error('redis down');
    };

    expect(await a.cache.invalidatePattern('t:acme:*')).toBe(0);

    expect(a.of('tier:error')).toEqual([
      expect.objectContaining({ tier: 'l2', operation: 'deleteMatching' }),
    ]);
    expect(hub.buses[0]!.published).toHaveLength(1);
  });
});
