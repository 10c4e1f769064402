import bloomFilters from 'bloom-filters';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bloomSize, estimateFalsePositiveRate, estimateItems } from './sizing.js';

describe('bloomSize', () => {
  it('gives 9.59 bits per item and 7 hashes at 1 %', () => {
    expect(bloomSize(1000, 0.01)).toEqual({
      expectedItems: 1000,
      falsePositiveRate: 0.01,
      bits: 9586,
      hashes: 7,
      bytes: 1199,
    });
  });

  it('gives 14.38 bits per item and 10 hashes at 0.1 %', () => {
    const size = bloomSize(1_000_000, 0.001);
    expect(size.bits).toBe(14_377_588);
    expect(size.hashes).toBe(10);
  });

  it('matches the bit count of bloom-filters for any n and p', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 1e-9, max: 0.5, noNaN: true }),
        (n, p) => {
          expect(bloomSize(n, p).bits).toBe(bloomFilters.BloomFilter.create(n, p).size);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never uses fewer than one hash', () => {
    expect(bloomSize(10, 0.9).hashes).toBe(1);
  });
});

describe('estimateFalsePositiveRate', () => {
  const size = bloomSize(100_000, 0.01);

  it('is close to the target at the expected item count', () => {
    const rate = estimateFalsePositiveRate(size, 100_000);
    expect(rate).toBeGreaterThan(0.009);
    expect(rate).toBeLessThan(0.011);
  });

  it('climbs steeply past the expected item count', () => {
    expect(estimateFalsePositiveRate(size, 200_000)).toBeGreaterThan(0.15);
  });

  it('is 0 for an empty filter', () => {
    expect(estimateFalsePositiveRate(size, 0)).toBe(0);
  });
});

describe('estimateItems', () => {
  it('inverts the expected fill ratio', () => {
    const size = bloomSize(100_000, 0.01);
    const expectedBitsSet = size.bits * (1 - Math.exp((-size.hashes * 50_000) / size.bits));
    expect(estimateItems(size, expectedBitsSet)).toBeCloseTo(50_000, -1);
  });

  it('is unbounded for a full filter', () => {
    expect(estimateItems({ bits: 8, hashes: 1 }, 8)).toBe(Number.POSITIVE_INFINITY);
  });
});
