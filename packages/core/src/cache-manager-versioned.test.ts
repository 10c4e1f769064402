import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import { deferred, MapTier, setup, VersionedMapTier } from './test-support/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Two instances sharing one versioned L2, without a bus (the version alone must hold). */
function instances(versionedWrites: boolean) {
  const l2 = new VersionedMapTier('l2');
  const reader = setup({ l2, versionedWrites });
  const writer = setup({ l2, versionedWrites });
  return { l2, reader, writer };
}

/** A reader's load reads "old", another instance deletes, then the load finishes. */
async function staleSetRace(versionedWrites: boolean) {
  const { l2, reader, writer } = instances(versionedWrites);
  const answer = deferred<string>();
  const get = reader.cache.get('row', () => answer.promise);
  await vi.advanceTimersByTimeAsync(0);
  await writer.cache.delete('row'); // after the source of truth changed
  answer.resolve('old');
  await get;
  await vi.advanceTimersByTimeAsync(0);
  return { l2, reader };
}

describe('versionedWrites', () => {
  it('drops the write of a load that started before another instance deleted the key', async () => {
    const { l2, reader } = await staleSetRace(true);

    expect(l2.peek('row')).toBeUndefined();
    expect(l2.rejectedWrites).toEqual(['row']);
    expect(reader.l1.peek('row')).toBeUndefined();
  });

  it('without it, the old value stays cached after the delete (the race it closes)', async () => {
    const { l2, reader } = await staleSetRace(false);

    expect(l2.peek('row')).toMatchObject({ v: 'old' });
    expect(reader.l1.peek('row')).toMatchObject({ v: 'old' });
  });

  it('an explicit set also wins over a load that started before it', async () => {
    const { l2, reader, writer } = instances(true);
    const answer = deferred<string>();
    const get = reader.cache.get('row', () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await writer.cache.set('row', 'written');
    answer.resolve('old');
    await get;
    await vi.advanceTimersByTimeAsync(0);

    expect(l2.peek('row')).toMatchObject({ v: 'written' });
  });

  it('writes loads that no invalidation overtook', async () => {
    const { l2, reader } = instances(true);
    await reader.cache.get('row', () => 'v');
    await vi.advanceTimersByTimeAsync(0);

    expect(l2.peek('row')).toMatchObject({ v: 'v' });
  });

  it('reads the key version before the loader runs', async () => {
    const { l2, reader } = instances(true);
    const order: string[] = [];
    const getVersions = l2.getVersions.bind(l2);
    l2.getVersions = (keys) => {
      order.push('version');
      return getVersions(keys);
    };

    await reader.cache.get('row', () => {
      order.push('loader');
      return 1;
    });

    expect(order).toEqual(['version', 'loader']);
  });

  it('getMany loads are versioned too', async () => {
    const { l2, reader, writer } = instances(true);
    const answer = deferred<Map<string, string>>();
    const many = reader.cache.getMany(['a', 'b'], () => answer.promise);
    await vi.advanceTimersByTimeAsync(0);

    await writer.cache.delete('a');
    answer.resolve(
      new Map([
        ['a', 'old'],
        ['b', 'b'],
      ]),
    );
    await many;
    await vi.advanceTimersByTimeAsync(0);

    expect(l2.peek('a')).toBeUndefined();
    expect(l2.peek('b')).toMatchObject({ v: 'b' });
  });

  it('skips the L2 write (keeps L1) when the version cannot be read', async () => {
    const { l2, reader } = instances(true);
    l2.failVersionsWith = new Error('redis down');

    expect(await reader.cache.get('row', () => 'v')).toBe('v');

    expect(l2.peek('row')).toBeUndefined();
    expect(reader.l1.peek('row')).toMatchObject({ v: 'v' });
    expect(reader.of('tier:error')).toContainEqual(
      expect.objectContaining({ tier: 'l2', operation: 'versions', key: 'row' }),
    );
  });

  it('needs an L2 that keeps versions', () => {
    expect(() => setup({ l2: new MapTier('l2'), versionedWrites: true })).toThrow(
      InvalidOptionsError,
    );
    expect(() => setup({ l2: null, versionedWrites: true })).toThrow(/versionedWrites/);
  });
});
