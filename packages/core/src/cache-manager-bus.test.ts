import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import {
  AsyncTier,
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

/** Two managers ("instances") sharing one L2 and a bus, each with its own L1. */
function twoInstances() {
  const hub = new MemoryBusHub();
  const l2 = new VersionedMapTier('l2');
  const a = setup({ l2, bus: hub.connect(), matchPattern: starMatcher });
  const b = setup({ l2, bus: hub.connect(), matchPattern: starMatcher });
  return { hub, l2, a, b };
}

describe('publishing on the bus', () => {
  it('delete publishes the key once L2 no longer has it', async () => {
    const { hub, l2, a } = twoInstances();
    await a.cache.set('k', 'v');
    const seen: unknown[] = [];
    hub.buses[1]!.subscribe(() => seen.push(l2.peek('k')));

    await a.cache.delete('k');

    expect(hub.buses[0]!.published.at(-1)).toEqual({ type: 'keys', keys: ['k'] });
    expect(seen).toEqual([undefined]);
  });

  it('set, deleteMany and clear publish keys, keys and clear', async () => {
    const { hub, a } = twoInstances();
    await a.cache.set('k', 1);
    await a.cache.deleteMany(['x', 'y', 'x']);
    await a.cache.clear();

    expect(hub.buses[0]!.published).toEqual([
      { type: 'keys', keys: ['k'] },
      { type: 'keys', keys: ['x', 'y'] },
      { type: 'clear' },
    ]);
  });

  it('deleteMany publishes only once every L2 delete is done', async () => {
    const hub = new MemoryBusHub();
    const inner = new MapTier('l2');
    const a = setup({ l2: new AsyncTier(inner, 5), bus: hub.connect() });
    inner.put('x', 1);
    inner.put('y', 2);
    const seen: unknown[] = [];
    hub.buses[0]!.publish = (message) => {
      seen.push(inner.peek('x'), inner.peek('y'));
      hub.buses[0]!.published.push(message);
      return Promise.resolve();
    };

    const deleted = a.cache.deleteMany(['x', 'y']);
    await vi.advanceTimersByTimeAsync(5);

    expect(await deleted).toBe(2);
    expect(seen).toEqual([undefined, undefined]);
  });

  it('a failed publish is emitted as a bus tier:error and the delete still resolves', async () => {
    const { hub, a } = twoInstances();
    hub.buses[0]!.failWith = new Error('redis down');

    await expect(a.cache.delete('k')).resolves.toBe(false);

    expect(a.of('tier:error')).toEqual([
      expect.objectContaining({ tier: 'bus', operation: 'publish', key: 'k' }),
    ]);
    expect(a.logger.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('rejects a bus without publish/subscribe', () => {
    expect(() => setup({ bus: {} as never })).toThrow(InvalidOptionsError);
    expect(() => setup({ bus: {} as never })).toThrow(/"bus"/);
  });
});

describe('receiving from the bus', () => {
  it("drops a key another instance deleted from this instance's L1", async () => {
    const { a, b } = twoInstances();
    await b.cache.get('k', () => 'old');
    expect(b.l1.peek('k')).toBeDefined();

    await a.cache.delete('k');

    expect(b.l1.peek('k')).toBeUndefined();
    expect(await b.cache.get('k', () => 'new')).toBe('new');
  });

  it('drops a key another instance overwrote with set, then reads the new value from L2', async () => {
    const { a, b } = twoInstances();
    await b.cache.get('k', () => 'old');

    await a.cache.set('k', 'new');

    expect(await b.cache.get('k', () => 'loader not called')).toBe('new');
  });

  it('detaches a load in flight for a key another instance deleted', async () => {
    const { a, b } = twoInstances();
    const answer = deferred<string>();
    const get = b.cache.get('k', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await a.cache.delete('k');
    answer.resolve('read before the delete');

    expect(await get).toBe('read before the delete');
    expect(b.l1.peek('k')).toBeUndefined();
    expect(await b.cache.get('k', () => 'after')).toBe('after');
  });

  it('clears L1 on a clear message (another instance cleared, or the bus reconnected)', async () => {
    const { hub, b } = twoInstances();
    await b.cache.get('k1', () => 1);
    await b.cache.get('k2', () => 2);

    hub.buses[1]!.deliver({ type: 'clear' });

    expect(b.l1.size).toBe(0);
  });

  it('drops only the L1 entries matching a pattern message', async () => {
    const { hub, b } = twoInstances();
    await b.cache.get('t:acme:1', () => 1);
    await b.cache.get('t:other:1', () => 2);

    hub.buses[1]!.deliver({ type: 'pattern', pattern: 't:acme:*' });

    expect(b.l1.keys()).toEqual(['t:other:1']);
  });

  it('clears L1 on a pattern message when it has no matcher', async () => {
    const hub = new MemoryBusHub();
    const b = setup({ bus: hub.connect() });
    await b.cache.get('t:acme:1', () => 1);
    await b.cache.get('t:other:1', () => 2);

    hub.buses[0]!.deliver({ type: 'pattern', pattern: 't:acme:*' });

    expect(b.l1.size).toBe(0);
  });

  it('stops listening after close', async () => {
    const { hub, b } = twoInstances();
    await b.cache.close();

    expect(hub.buses[1]!.handlers.size).toBe(0);
  });
});

describe('without a bus', () => {
  it('another instance keeps serving its L1 copy after a delete (what the bus is for)', async () => {
    const l2 = new MapTier('l2');
    const a = setup({ l2 });
    const b = setup({ l2 });
    await b.cache.get('k', () => 'old');

    await a.cache.delete('k');

    expect(await b.cache.get('k', () => 'new')).toBe('old');
  });
});
