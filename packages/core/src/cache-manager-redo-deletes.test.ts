import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import type { CacheManagerOptions } from './options.js';
import {
  type Deferred,
  deferred,
  FakeTierError,
  MemoryBusHub,
  setup,
  VersionedMapTier,
} from './test-support/index.js';

// redoFailedDeletes: an L2 delete that failed leaves the old value in L2 while the bus makes
// the other instances drop their L1 copy and read it back from there (the chaos suite saw
// minutes of stale reads after a 5 s Redis pause). The manager deletes such keys again.

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

type CircuitState = 'open' | 'half-open' | 'closed';

/**
 * A shared L2 whose deletes fail while `down` (like a paused Redis or an open circuit), and
 * that reports circuit changes like `redisTier` (`on('circuit', listener)` → unsubscribe).
 */
class FlakyTier extends VersionedMapTier {
  down = false;
  deletes = 0;
  /** Deletes answer with these, in order, before falling back to `down`. */
  readonly scripted: Array<Deferred<void>> = [];
  readonly circuitListeners = new Set<(state: CircuitState) => void>();

  override delete(key: string): boolean {
    this.deletes++;
    if (this.down) throw new FakeTierError(`L2 down: delete ${key}`);
    return super.delete(key);
  }

  /** The versioned path (`versionedWrites`) fails the same way. */
  override deleteVersioned(key: string): boolean {
    if (this.down) {
      this.deletes++;
      throw new FakeTierError(`L2 down: delete ${key}`);
    }
    return super.deleteVersioned(key);
  }

  on(event: 'circuit', listener: (state: CircuitState) => void): () => void {
    if (event !== 'circuit') throw new Error(`unknown event ${event}`);
    this.circuitListeners.add(listener);
    return () => this.circuitListeners.delete(listener);
  }

  circuit(state: CircuitState): void {
    for (const listener of this.circuitListeners) listener(state);
  }
}

/** Instance A (whose deletes fail) and B sharing one L2 and a bus, each with its own L1. */
function twoInstances(options: Omit<CacheManagerOptions, 'l1' | 'l2' | 'bus'> = {}) {
  const hub = new MemoryBusHub();
  const l2 = new FlakyTier('l2');
  const a = setup({ ...options, l2, bus: hub.connect() });
  const b = setup({ ...options, l2, bus: hub.connect() });
  const busA = hub.buses[0]!;
  return { l2, a, b, busA };
}

const loadNew = () => 'new';

/** A deletes `k` while L2 is down; B then reads the old value back from L2 into its L1. */
async function staleAfterFailedDelete(x: ReturnType<typeof twoInstances>, key = 'k') {
  await x.a.cache.set(key, 'old');
  x.l2.down = true;
  await x.a.cache.delete(key);
  x.l2.down = false;
  // B dropped its L1 copy on the message, and reads the old value back from L2.
  expect(await x.b.cache.get(key, loadNew)).toBe('old');
}

describe('a failed L2 delete is redone', () => {
  it('on the timer: L2 deleted, the key published again, then no timer is left', async () => {
    const x = twoInstances();
    expect(vi.getTimerCount()).toBe(0);
    await staleAfterFailedDelete(x);
    expect(x.a.cache.redoStats).toEqual({ pending: 1, redone: 0, dropped: 0 });
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(999);
    expect(await x.b.cache.get('k', loadNew)).toBe('old');
    await vi.advanceTimersByTimeAsync(1);

    expect(x.l2.peek('k')).toBeUndefined();
    expect(x.busA.published.at(-1)).toEqual({ type: 'keys', keys: ['k'] });
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
    expect(x.a.of('redo:done')).toEqual([{ deleted: ['k'], republished: [], pending: 0 }]);
    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 1, dropped: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops the old value this instance read back into its own L1 too', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);
    expect(await x.a.cache.get('k', loadNew)).toBe('old');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(await x.a.cache.get('k', loadNew)).toBe('new');
  });

  it('covers deleteMany, invalidate and set(key, undefined)', async () => {
    const x = twoInstances();
    x.l2.down = true;
    await x.a.cache.deleteMany(['m1', 'm2']);
    await x.a.cache.invalidate('i');
    await x.a.cache.set('u', undefined);
    x.l2.down = false;
    expect(x.a.cache.redoStats.pending).toBe(4);

    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.a.of('redo:done')).toEqual([
      { deleted: ['m1', 'm2', 'i', 'u'], republished: [], pending: 0 },
    ]);
    expect(x.busA.published.at(-1)).toEqual({ type: 'keys', keys: ['m1', 'm2', 'i', 'u'] });
  });

  it.each([
    ['plain', false],
    ['versionedWrites', true],
  ])(
    'covers a set() whose L2 write failed (%s): the old value is deleted from L2',
    async (_n, versionedWrites) => {
      const x = twoInstances({ versionedWrites });
      await x.a.cache.set('k', 'old');
      expect(await x.b.cache.get('k', loadNew)).toBe('old');
      const write = versionedWrites ? 'setVersioned' : 'set';
      const spy = vi.spyOn(x.l2, write).mockImplementationOnce(() => {
        throw new FakeTierError('L2 down: set k');
      });
      await x.a.cache.set('k', 'newer');
      spy.mockRestore();
      // B dropped its copy on the message and reads the old value back from L2.
      expect(await x.b.cache.get('k', loadNew)).toBe('old');
      expect(x.a.cache.redoStats.pending).toBe(1);

      await vi.advanceTimersByTimeAsync(1_000);

      expect(x.l2.peek('k')).toBeUndefined();
      expect(await x.b.cache.get('k', loadNew)).toBe('new');
    },
  );

  it('not a load whose L2 write failed (L2 held nothing newer to hide)', async () => {
    const x = twoInstances();
    const spy = vi.spyOn(x.l2, 'set').mockImplementationOnce(() => {
      throw new FakeTierError('L2 down: set k');
    });
    expect(await x.a.cache.get('k', loadNew)).toBe('new');
    spy.mockRestore();
    expect(x.a.cache.redoStats.pending).toBe(0);
  });

  it('with versionedWrites, redoes the versioned delete (the key version moves)', async () => {
    const x = twoInstances({ versionedWrites: true });
    await staleAfterFailedDelete(x);
    const before = x.l2.keyVersions.get('k');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.l2.keyVersions.get('k')).not.toBe(before);
    expect(x.l2.peek('k')).toBeUndefined();
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
  });

  it('while L2 is still down, tries once per interval with the oldest key alone', async () => {
    const x = twoInstances();
    x.l2.down = true;
    for (const key of ['k1', 'k2', 'k3']) await x.a.cache.delete(key);
    const tried = x.l2.deletes;
    const errors = x.a.of('tier:error').length;

    await vi.advanceTimersByTimeAsync(3_000);

    expect(x.l2.deletes - tried).toBe(3);
    expect(x.a.of('tier:error').length - errors).toBe(3);
    expect(x.a.cache.redoStats.pending).toBe(3);
    expect(vi.getTimerCount()).toBe(1);

    x.l2.down = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 3, dropped: 0 });
    expect(x.busA.published.at(-1)).toEqual({ type: 'keys', keys: ['k1', 'k2', 'k3'] });
  });

  it('at once when the L2 reports its circuit closed', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);

    x.l2.circuit('half-open');
    x.l2.circuit('open');
    await vi.advanceTimersByTimeAsync(0);
    expect(x.a.cache.redoStats.pending).toBe(1);

    x.l2.circuit('closed');
    await vi.advanceTimersByTimeAsync(0);

    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 1, dropped: 0 });
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
    // The timer it replaced is gone too.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('forgets nothing that failed again while a redo was running', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);
    // The redo's publish waits; meanwhile a new delete of the key fails.
    const gate = deferred<void>();
    const publish = x.busA.publish.bind(x.busA);
    vi.spyOn(x.busA, 'publish').mockImplementationOnce(async (m) => {
      await gate.promise;
      return publish(m);
    });
    await vi.advanceTimersByTimeAsync(1_000);
    x.l2.down = true;
    await x.a.cache.delete('k');
    x.l2.down = false;
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);

    expect(x.a.cache.redoStats.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 1, dropped: 0 });
  });

  it('always deletes, even a value set since (one miss, never a stale read)', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);
    await x.a.cache.set('k', 'set after the failed delete');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.l2.peek('k')).toBeUndefined();
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
  });
});

describe('the L2 health signal is optional (duck-typed)', () => {
  it('a tier without on(), or whose on() refuses "circuit", is redone on the timer', async () => {
    class Refusing extends FlakyTier {
      override on(): () => void {
        throw new Error('unknown event');
      }
    }
    for (const l2 of [new VersionedMapTier('l2'), new Refusing('l2')]) {
      const { cache, of } = setup({ l2, l1: null });
      await cache.set('k', 'old');
      vi.spyOn(l2, 'delete').mockImplementationOnce(() => {
        throw new FakeTierError('down');
      });
      await cache.delete('k');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(of('redo:done')).toEqual([{ deleted: ['k'], republished: [], pending: 0 }]);
      expect(l2.peek('k')).toBeUndefined();
    }
  });

  it('an EventEmitter-like on() (returns this) is unsubscribed with off() at close', async () => {
    const listeners = new Set<(state: unknown) => void>();
    const l2 = Object.assign(new VersionedMapTier('l2'), {
      on(event: string, listener: (state: unknown) => void) {
        if (event === 'circuit') listeners.add(listener);
        return l2;
      },
      off(event: string, listener: (state: unknown) => void) {
        if (event === 'circuit') listeners.delete(listener);
        return l2;
      },
    });
    const { cache } = setup({ l2 });
    expect(listeners.size).toBe(1);
    await cache.close();
    expect(listeners.size).toBe(0);
  });
});

describe('a failed bus message is published again', () => {
  it('delete: only the message is redone, L2 is not deleted again', async () => {
    const x = twoInstances();
    await x.a.cache.set('k', 'old');
    expect(await x.b.cache.get('k', loadNew)).toBe('old');
    x.busA.failWith = new FakeTierError('bus down');
    await x.a.cache.delete('k');
    x.busA.failWith = undefined;
    // B never heard of the delete: its L1 still has the old value.
    expect(await x.b.cache.get('k', loadNew)).toBe('old');
    const deletes = x.l2.deletes;

    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.l2.deletes).toBe(deletes);
    expect(x.a.of('redo:done')).toEqual([{ deleted: [], republished: ['k'], pending: 0 }]);
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
  });

  it('set and deleteMany: every key of the message', async () => {
    const x = twoInstances();
    x.busA.failWith = new FakeTierError('bus down');
    await x.a.cache.set('s', 1);
    await x.a.cache.deleteMany(['d1', 'd2']);
    x.busA.failWith = undefined;

    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.busA.published).toEqual([{ type: 'keys', keys: ['s', 'd1', 'd2'] }]);
    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 3, dropped: 0 });
  });

  it('a redo whose own message fails keeps the key, without deleting L2 a third time', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);
    x.busA.failWith = new FakeTierError('bus down');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(x.l2.peek('k')).toBeUndefined();
    expect(x.a.cache.redoStats.pending).toBe(1);
    const deletes = x.l2.deletes;

    x.busA.failWith = undefined;
    await vi.advanceTimersByTimeAsync(1_000);

    expect(x.l2.deletes).toBe(deletes);
    expect(x.a.of('redo:done')).toEqual([{ deleted: [], republished: ['k'], pending: 0 }]);
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
  });
});

describe('bounded', () => {
  it('past maxKeys the oldest key is given up: counted, emitted, logged at error level', async () => {
    const x = twoInstances({ redoFailedDeletes: { maxKeys: 2 } });
    x.l2.down = true;
    for (const key of ['k1', 'k2', 'k3']) await x.a.cache.delete(key);

    expect(x.a.cache.redoStats).toEqual({ pending: 2, redone: 0, dropped: 1 });
    expect(x.a.of('redo:overflow')).toEqual([{ key: 'k1', dropped: 1, maxKeys: 2 }]);
    expect(
      x.a.logger.lines.filter((l) => l.level === 'error' && l.message.includes('given up')),
    ).toHaveLength(1);

    x.l2.down = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(x.a.of('redo:done')).toEqual([{ deleted: ['k2', 'k3'], republished: [], pending: 0 }]);
  });

  it('a key that fails again is counted once', async () => {
    const x = twoInstances({ redoFailedDeletes: { maxKeys: 2 } });
    x.l2.down = true;
    for (let i = 0; i < 5; i++) await x.a.cache.delete('k');
    expect(x.a.cache.redoStats).toEqual({ pending: 1, redone: 0, dropped: 0 });
  });
});

describe('the redoFailedDeletes option', () => {
  it('uses its interval', async () => {
    const x = twoInstances({ redoFailedDeletes: { interval: 5_000 } });
    await staleAfterFailedDelete(x);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(x.a.cache.redoStats.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(x.a.cache.redoStats.pending).toBe(0);
  });

  it('false: nothing is remembered, no timer, the old value stays (the behaviour it fixes)', async () => {
    const x = twoInstances({ redoFailedDeletes: false });
    await staleAfterFailedDelete(x);
    expect(vi.getTimerCount()).toBe(0);
    expect(x.l2.circuitListeners.size).toBe(0);

    await vi.advanceTimersByTimeAsync(60_000);

    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 0, dropped: 0 });
    expect(await x.b.cache.get('k', loadNew)).toBe('old');
  });

  it.each([
    [{ interval: 0 }, 'redoFailedDeletes.interval'],
    [{ interval: 3e9 }, 'redoFailedDeletes.interval'],
    [{ interval: '1s' }, 'redoFailedDeletes.interval'],
    [{ maxKeys: 0 }, 'redoFailedDeletes.maxKeys'],
    [{ maxKeys: 1.5 }, 'redoFailedDeletes.maxKeys'],
    [{ maxkeys: 10 }, 'redoFailedDeletes.maxkeys'],
    ['yes', 'redoFailedDeletes'],
    [null, 'redoFailedDeletes'],
  ])('%j is refused with InvalidOptionsError naming %s', (value, field) => {
    const make = () =>
      setup({ redoFailedDeletes: value as CacheManagerOptions['redoFailedDeletes'] });
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(`Invalid option "${field}"`);
  });

  it('says what it expects of a value that is neither a boolean nor an object', () => {
    expect(() => setup({ redoFailedDeletes: 1 as unknown as boolean })).toThrow(
      'Invalid option "redoFailedDeletes": expected a boolean or { interval?, maxKeys? }',
    );
  });
});

describe('close', () => {
  it('redoes what is pending one last time, then leaves no timer and no listener', async () => {
    const x = twoInstances();
    await staleAfterFailedDelete(x);

    await x.a.cache.close();

    expect(x.a.cache.redoStats).toEqual({ pending: 0, redone: 1, dropped: 0 });
    expect(await x.b.cache.get('k', loadNew)).toBe('new');
    expect(vi.getTimerCount()).toBe(0);
    expect(x.l2.circuitListeners.size).toBe(1); // B's
  });

  it('with L2 still down: one attempt, then gives up loudly and stops', async () => {
    const x = twoInstances();
    x.l2.down = true;
    await x.a.cache.delete('k');
    const deletes = x.l2.deletes;

    await x.a.cache.close();

    expect(x.l2.deletes - deletes).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(x.a.logger.lines.at(-1)).toMatchObject({
      level: 'error',
      message: expect.stringContaining('1 keys whose L2 delete or bus message failed are given up'),
    });
    x.l2.circuit('closed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(x.l2.deletes - deletes).toBe(1);
  });

  it('does not wait for a redo timer', async () => {
    const x = twoInstances({ redoFailedDeletes: { interval: 60_000 } });
    await staleAfterFailedDelete(x);
    // Resolves without advancing the fake clock.
    await x.a.cache.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
