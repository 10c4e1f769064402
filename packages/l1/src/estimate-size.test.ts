import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateSize } from './estimate-size.js';

describe('estimateSize', () => {
  it('counts 2 bytes per string character', () => {
    expect(estimateSize('abcd') - estimateSize('')).toBe(8);
  });

  it('counts numbers as 8 bytes and booleans as 4', () => {
    expect(estimateSize(42)).toBe(8);
    expect(estimateSize(true)).toBe(4);
  });

  it('counts an object as more than the sum of its values', () => {
    expect(estimateSize({ a: 'xxxx', b: 1 })).toBeGreaterThan(estimateSize('xxxx') + 8);
  });

  it('grows with nested content', () => {
    const small = { rows: [{ id: 1, name: 'a' }] };
    const large = { rows: Array.from({ length: 100 }, (_, id) => ({ id, name: 'a' })) };
    expect(estimateSize(large)).toBeGreaterThan(50 * estimateSize(small));
  });

  it('terminates on a cyclic object', () => {
    const value: Record<string, unknown> = { name: 'x' };
    value.self = value;
    value.list = [value, { parent: value }];
    expect(estimateSize(value)).toBeLessThan(1000);
  });

  it('bounds a value whose shared references fan out exponentially', () => {
    let value: unknown = 'x'.repeat(100);
    for (let i = 0; i < 60; i++) value = [value, value];
    expect(Number.isFinite(estimateSize(value))).toBe(true);
  });

  it('counts typed arrays and buffers by byteLength', () => {
    expect(estimateSize(new Uint8Array(10_000))).toBeGreaterThanOrEqual(10_000);
    expect(estimateSize(Buffer.alloc(10_000))).toBeGreaterThanOrEqual(10_000);
    expect(estimateSize(new ArrayBuffer(10_000))).toBeGreaterThanOrEqual(10_000);
  });

  it('walks Map and Set contents', () => {
    const text = 'x'.repeat(1000);
    expect(estimateSize(new Map([['k', text]]))).toBeGreaterThan(2000);
    expect(estimateSize(new Set([text]))).toBeGreaterThan(2000);
  });

  it('extrapolates a huge array past its walk budget instead of walking it all', () => {
    const huge = new Array<string>(1_000_000).fill('x'.repeat(10));
    const perItem = estimateSize(huge) / huge.length;
    expect(perItem).toBeGreaterThan(estimateSize('x'.repeat(10)));
    expect(perItem).toBeLessThan(2 * (estimateSize('x'.repeat(10)) + 8));
  });

  it('handles a deeply nested value without overflowing the stack', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) value = { next: value };
    expect(estimateSize(value)).toBeGreaterThan(0);
  });

  it('returns a positive integer for any value', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true }), (value) => {
        const size = estimateSize(value);
        return Number.isInteger(size) && size > 0;
      }),
    );
  });
});
