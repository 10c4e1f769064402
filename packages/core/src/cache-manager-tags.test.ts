import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import {
  AsyncTier,
  deferred,
  MapTier,
  MemoryBusHub,
  MemoryTagStore,
  setup,
} from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

function tagged() {
  const hub = new MemoryBusHub();
  const l2 = new MapTier('l2');
  const tagVersions = new MemoryTagStore();
  const a = setup({ l2, tagVersions, bus: hub.connect() });
  const b = setup({ l2, tagVersions, bus: hub.connect() });
  return { hub, l2, tagVersions, a, b };
}

const agent = { tags: ['agent:1', 'leaderboard'] };

describe('tagged entries', () => {
  it('are stamped with the versions their tags had when the load started', async () => {
    const { a, l2, tagVersions } = tagged();
    tagVersions.versions.set('agent:1', 7);

    await a.cache.get('stats:1', () => 's1', agent);

    expect(l2.peek('stats:1')).toMatchObject({ v: 's1', t: { 'agent:1': 7, leaderboard: 0 } });
  });

  it('read their versions before the loader runs', async () => {
    const { a, tagVersions } = tagged();
    const order: string[] = [];
    const get = tagVersions.get.bind(tagVersions);
    tagVersions.get = (tags) => {
      order.push('versions');
      return get(tags);
    };

    await a.cache.get(
      'k',
      () => {
        order.push('loader');
        return 1;
      },
      agent,
    );

    expect(order).toEqual(['versions', 'loader']);
  });

  it('are stale in this instance right after invalidateTag', async () => {
    const { a } = tagged();
    await a.cache.get('stats:1', () => 'old', agent);

    await a.cache.invalidateTag('leaderboard');

    expect(await a.cache.get('stats:1', () => 'new', agent)).toBe('new');
  });

  it('are stale in another instance once it receives the tags message', async () => {
    const { a, b, hub } = tagged();
    await b.cache.get('stats:1', () => 'old', agent);

    await a.cache.invalidateTags(['agent:1']);

    expect(hub.buses[0]!.published).toEqual([{ type: 'tags', tags: ['agent:1'], versions: [1] }]);
    expect(await b.cache.get('stats:1', () => 'new', agent)).toBe('new');
  });

  it('are a miss when read from L2 with an outdated stamp, even without the message', async () => {
    const l2 = new MapTier('l2');
    const tagVersions = new MemoryTagStore();
    const writer = setup({ l2, tagVersions });
    await writer.cache.get('stats:1', () => 'old', agent);
    await writer.cache.invalidateTag('agent:1');

    const reader = setup({ l2, tagVersions });

    expect(await reader.cache.get('stats:1', () => 'new', agent)).toBe('new');
  });

  it('are a hit from L2 while their stamp is current, without the tags in the options', async () => {
    const { a, b, tagVersions } = tagged();
    await a.cache.get('stats:1', () => 'cached', agent);

    expect(await b.cache.get('stats:1', () => 'loader not called')).toBe('cached');
    expect(tagVersions.calls.get).toBe(2);
  });

  it('are not cached when an invalidation lands while their load runs (the write race)', async () => {
    const { a, b, l2 } = tagged();
    const answer = deferred<string>();
    const get = a.cache.get('stats:1', () => answer.promise, agent);
    await vi.advanceTimersByTimeAsync(0);

    await b.cache.invalidateTag('agent:1');
    answer.resolve('read before the invalidation');
    expect(await get).toBe('read before the invalidation');

    // The entry may sit in L2, but its stamp is older than the tag: no reader accepts it.
    expect(l2.peek('stats:1')).toMatchObject({ t: { 'agent:1': 0 } });
    expect(await a.cache.get('stats:1', () => 'fresh', agent)).toBe('fresh');
    const c = setup({ l2, tagVersions: new MemoryTagStore() });
    expect(await c.cache.get('stats:1', () => 'fresh too', agent)).toBe('fresh too');
  });

  it('are still written when the tag was invalidated in another instance that has no bus', async () => {
    const { a, l2, tagVersions } = tagged();
    await a.cache.get('k', () => 'v1', agent);
    tagVersions.versions.set('agent:1', 5);

    // a's L1 does not know yet (no message): it serves v1 until a message or its L1 TTL;
    // L2 readers see the new version at once.
    expect(await a.cache.get('k', () => 'v2', agent)).toBe('v1');
    const c = setup({ l2, tagVersions });
    expect(await c.cache.get('k', () => 'v2', agent)).toBe('v2');
  });

  it('read the tag versions in the same round trip as the L2 GET when the tags are passed', async () => {
    const shared = new MapTier('l2');
    const tagVersions = new MemoryTagStore();
    await setup({ l2: shared, tagVersions }).cache.get('k', () => 'cached', agent);
    const { cache } = setup({ l2: new AsyncTier(shared, 10), tagVersions });
    const calls: number[] = [];
    const get = tagVersions.get.bind(tagVersions);
    tagVersions.get = (tags) => {
      calls.push(Date.now());
      return get(tags);
    };

    const value = cache.get('k', () => 'loader not called', agent);
    await vi.advanceTimersByTimeAsync(10);

    expect(await value).toBe('cached');
    expect(calls).toEqual([1_000_000]); // sent with the GET, not after its answer
  });

  it('are returned but not cached when the tag versions cannot be read', async () => {
    const { a, l2, tagVersions } = tagged();
    tagVersions.failWith = new Error('redis down');

    expect(await a.cache.get('k', () => 'v', agent)).toBe('v');

    expect(l2.peek('k')).toBeUndefined();
    expect(a.l1.peek('k')).toBeUndefined();
    expect(a.of('tier:error')).toContainEqual(
      expect.objectContaining({ tier: 'tags', operation: 'versions' }),
    );
  });

  it('set stamps the versions current at the time of the set', async () => {
    const { a, l2, tagVersions } = tagged();
    tagVersions.versions.set('leaderboard', 3);

    await a.cache.set('board', [1, 2], { tags: ['leaderboard'] });

    expect(l2.peek('board')).toMatchObject({ t: { leaderboard: 3 } });
  });

  it('getMany treats L2 entries with outdated stamps as misses (one version read)', async () => {
    const { a, l2, tagVersions } = tagged();
    await a.cache.getMany(['x', 'y'], (keys) => new Map(keys.map((k) => [k, `${k}-old`])), {
      tags: ['agent:1'],
    });
    await a.cache.invalidateTag('agent:1');
    const c = setup({ l2, tagVersions });
    const before = tagVersions.calls.get;

    const found = await c.cache.getMany(
      ['x', 'y'],
      (keys) => new Map(keys.map((k) => [k, `${k}-new`])),
      {
        tags: ['agent:1'],
      },
    );

    expect([...found.values()]).toEqual(['x-new', 'y-new']);
    expect(tagVersions.calls.get - before).toBe(2); // the stamps check + the load's versions
  });

  it('getMany drops L1 entries whose tag was invalidated', async () => {
    const { a } = tagged();
    await a.cache.get('x', () => 'old', agent);
    await a.cache.invalidateTag('leaderboard');

    const found = await a.cache.getMany(['x'], () => new Map([['x', 'new']]), agent);

    expect(found.get('x')).toBe('new');
  });

  it('a store failure on invalidateTags is emitted and logged at error level, not thrown', async () => {
    const { a, tagVersions, hub } = tagged();
    tagVersions.failWith = new Error('redis down');

    await expect(a.cache.invalidateTag('x')).resolves.toBeUndefined();

    expect(a.of('tier:error')).toEqual([
      expect.objectContaining({ tier: 'tags', operation: 'invalidate' }),
    ]);
    expect(hub.buses[0]!.published).toEqual([]);
  });
});

describe('tag options', () => {
  it('rejects tags without a tagVersions store', async () => {
    const { cache } = setup();
    await expect(cache.get('k', () => 1, { tags: ['a'] })).rejects.toThrow(/tagVersions/);
    await expect(cache.set('k', 1, { tags: ['a'] })).rejects.toThrow(InvalidOptionsError);
    await expect(cache.invalidateTag('a')).rejects.toThrow(InvalidOptionsError);
  });

  it('rejects a tagVersions store without get/invalidate, naming the option', () => {
    expect(() => setup({ tagVersions: { get() {} } as never })).toThrow(/"tagVersions"/);
    expect(() => setup({ matchPattern: 'x*' as never })).toThrow(/"matchPattern"/);
  });

  it('rejects a tag that is not a non-empty string, naming it', async () => {
    const { cache } = setup({ tagVersions: new MemoryTagStore() });
    await expect(cache.get('k', () => 1, { tags: ['a', ''] })).rejects.toThrow(/"tags\[1\]"/);
    await expect(cache.invalidateTags(['a', 3 as never])).rejects.toThrow(/"tags\[1\]"/);
  });

  it('accepts a tag named __proto__', async () => {
    const { cache, l2 } = setup({ tagVersions: new MemoryTagStore() });
    await cache.get('k', () => 1, { tags: ['__proto__'] });
    await cache.invalidateTag('__proto__');
    expect(l2.peek('k')).toBeDefined();
    expect(await cache.get('k', () => 2, { tags: ['__proto__'] })).toBe(2);
  });
});
