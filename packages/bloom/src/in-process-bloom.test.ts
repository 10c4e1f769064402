import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, RebuildConflictError } from './errors.js';
import { inProcessBloom } from './in-process-bloom.js';
import { rebuild } from './rebuild.js';
import { gatedSource } from './test-support/gated-source.js';

const keys = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

describe('inProcessBloom', () => {
  it('is sized from the expected items and the target rate', () => {
    const filter = inProcessBloom({ expectedItems: 1000, falsePositiveRate: 0.01 });
    expect([filter.bits, filter.hashes, filter.bytes]).toEqual([9586, 7, 1199]);
    expect([filter.expectedItems, filter.falsePositiveRate]).toEqual([1000, 0.01]);
  });

  it('targets 1 % false positives by default', () => {
    expect(inProcessBloom({ expectedItems: 1000 }).falsePositiveRate).toBe(0.01);
  });

  it('says an added key might exist', () => {
    const filter = inProcessBloom({ expectedItems: 100 });
    filter.add('user:42');
    expect(filter.has('user:42')).toBe(true);
  });

  it('says a key never added is absent', () => {
    const filter = inProcessBloom({ expectedItems: 100 });
    filter.add('user:42');
    expect(filter.has('user:43')).toBe(false);
  });

  it('never gives a false negative', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary' }), { maxLength: 200 }), (added) => {
        const filter = inProcessBloom({ expectedItems: 200, falsePositiveRate: 0.05 });
        filter.addMany(added);
        expect(added.filter((key) => !filter.has(key))).toEqual([]);
      }),
    );
  });

  it('counts distinct items in size', () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    expect(filter.addMany(['a', 'b', 'a', 'c'])).toBe(4);
    expect(filter.size).toBe(3);
  });

  it('forgets everything on clear', () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.addMany(keys('k', 100));
    filter.clear();
    expect(keys('k', 100).some((key) => filter.has(key))).toBe(false);
    expect(filter.size).toBe(0);
  });

  it('keeps its false-positive rate near the target at capacity', () => {
    const filter = inProcessBloom({ expectedItems: 10_000, falsePositiveRate: 0.01 });
    filter.addMany(keys('in', 10_000));
    const falsePositives = keys('out', 100_000).filter((key) => filter.has(key)).length;
    expect(falsePositives / 100_000).toBeLessThan(0.015);
    expect(falsePositives / 100_000).toBeGreaterThan(0.005);
  });

  it('reports its fill ratio and estimated items', () => {
    const filter = inProcessBloom({ expectedItems: 10_000 });
    filter.addMany(keys('in', 10_000));
    const stats = filter.stats();
    expect(stats.fillRatio).toBeGreaterThan(0.45);
    expect(stats.fillRatio).toBeLessThan(0.55);
    expect(stats.estimatedItems).toBeGreaterThan(9_700);
    expect(stats.estimatedItems).toBeLessThan(10_300);
    expect(stats.estimatedFalsePositiveRate).toBeCloseTo(0.01, 2);
  });

  it('expects the false-positive rate to rise past the expected items', () => {
    const filter = inProcessBloom({ expectedItems: 10_000 });
    expect(filter.estimatedFalsePositiveRate(10_000)).toBeCloseTo(0.01, 2);
    expect(filter.estimatedFalsePositiveRate(30_000)).toBeGreaterThan(0.4);
  });

  it('estimates its rate from its own size by default', () => {
    const filter = inProcessBloom({ expectedItems: 10_000 });
    filter.addMany(keys('in', 5_000));
    expect(filter.estimatedFalsePositiveRate()).toBe(
      filter.estimatedFalsePositiveRate(filter.size),
    );
  });

  it('imports what it exported', () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.addMany(keys('k', 500));
    const copy = inProcessBloom({ expectedItems: 1000, data: filter.export() });
    expect(keys('k', 500).every((key) => copy.has(key))).toBe(true);
    expect(copy.size).toBeGreaterThan(450);
  });

  it('exports a copy', () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.export().fill(0xff);
    expect(filter.has('anything')).toBe(false);
  });

  it('stores bits most significant first, like Redis SETBIT', () => {
    const filter = inProcessBloom({ expectedItems: 1, falsePositiveRate: 0.5 });
    filter.add('x');
    const set: number[] = [];
    for (const [i, byte] of filter.export().entries()) {
      for (let bit = 0; bit < 8; bit++) if (byte & (128 >> bit)) set.push(i * 8 + bit);
    }
    expect(set.length).toBeGreaterThan(0);
    expect(set.every((offset) => offset < filter.bits)).toBe(true);
  });

  it.each([
    [{ expectedItems: 0 }, /expectedItems/],
    [{ expectedItems: 1.5 }, /expectedItems/],
    [{ expectedItems: 10, falsePositiveRate: 0 }, /falsePositiveRate/],
    [{ expectedItems: 10, falsePositiveRate: 1 }, /falsePositiveRate/],
    [{ expectedItems: 10, hash: 'md5' }, /hash: expected a function/],
    [{ expectedItems: 10, size: 3 }, /size/],
    [{ expectedItems: 10, data: new Uint8Array(3) }, /data: expected 12 bytes/],
    [{ expectedItems: 1e12 }, /expectedItems: .* more than the 2\^32-bit/],
  ])('rejects %o naming the field', (options, message) => {
    expect(() => inProcessBloom(options as never)).toThrow(InvalidOptionsError);
    expect(() => inProcessBloom(options as never)).toThrow(message);
  });
});

describe('rebuild (in process)', () => {
  it('replaces the contents with the source and returns the count', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.addMany(keys('old', 300));
    expect(await rebuild(filter, keys('new', 400))).toBe(400);
    expect(keys('new', 400).every((key) => filter.has(key))).toBe(true);
    expect(keys('old', 300).filter((key) => filter.has(key)).length).toBeLessThan(15);
    expect(filter.size).toBe(400);
  });

  it('reads an async source', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    async function* source(): AsyncGenerator<string> {
      yield* keys('k', 100);
    }
    expect(await filter.rebuild(source(), { batchSize: 7 })).toBe(100);
    expect(keys('k', 100).every((key) => filter.has(key))).toBe(true);
  });

  it('answers from the old contents until the rebuild completes', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.addMany(['both', 'old-only']);
    const { source, release, consumed } = gatedSource([['both'], ['new-only']]);
    const done = filter.rebuild(source, { batchSize: 1 });
    release(0);
    await consumed(0);
    expect([filter.has('both'), filter.has('old-only'), filter.has('new-only')]).toEqual([
      true,
      true,
      false,
    ]);
    release(1);
    await done;
    expect([filter.has('both'), filter.has('old-only'), filter.has('new-only')]).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('keeps keys added while it runs', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    const { source, release } = gatedSource([['a'], ['b']]);
    const done = filter.rebuild(source);
    release(0);
    filter.add('added-meanwhile');
    release(1);
    await done;
    expect(filter.has('added-meanwhile')).toBe(true);
  });

  it('refuses a second rebuild while one runs', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    const { source, release } = gatedSource([['a']]);
    const first = filter.rebuild(source);
    await expect(filter.rebuild(['b'])).rejects.toThrow(RebuildConflictError);
    release(0);
    await expect(first).resolves.toBe(1);
  });

  it('keeps the old contents when the source fails', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    filter.add('old');
    async function* source(): AsyncGenerator<string> {
      yield 'new';
      throw new Error('database went away');
    }
    await expect(filter.rebuild(source())).rejects.toThrow('database went away');
    expect([filter.has('old'), filter.has('new')]).toEqual([true, false]);
  });

  it('rejects a bad batch size', async () => {
    const filter = inProcessBloom({ expectedItems: 1000 });
    await expect(filter.rebuild(['a'], { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });
});
