import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, InvalidTtlError } from './errors.js';
import { jitter } from './jitter.js';

describe('jitter', () => {
  it('returns the TTL itself when random() gives 0', () => {
    expect(jitter(300, { random: () => 0 })).toBe(300);
  });

  it('takes off at most 10 % by default', () => {
    expect(jitter(300, { random: () => 0.999_999 })).toBe(270);
  });

  it('honours a custom ratio', () => {
    expect(jitter(300, { ratio: 0.5, random: () => 0.999_999 })).toBe(150);
  });

  it('returns the TTL unchanged with ratio 0', () => {
    expect(jitter(300, { ratio: 0, random: () => 0.9 })).toBe(300);
  });

  it('never returns less than 1, even with ratio 1', () => {
    expect(jitter(5, { ratio: 1, random: () => 0.999_999 })).toBe(1);
  });

  it('returns the TTL when it is too short to spread', () => {
    expect(jitter(9, { ratio: 0.1, random: () => 0.999_999 })).toBe(9);
  });

  it('spreads uniformly over the allowed integers', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 11; i++) seen.add(jitter(100, { random: () => i / 11 }));
    expect([...seen].sort((a, b) => a - b)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
  });

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 100; i++) {
      const ttl = jitter(1000);
      expect(ttl).toBeGreaterThanOrEqual(900);
      expect(ttl).toBeLessThanOrEqual(1000);
    }
  });

  it('always returns an integer in [max(1, ttl − ttl × ratio), ttl]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (ttl, ratio, r) => {
          const result = jitter(ttl, { ratio, random: () => r });
          expect(Number.isInteger(result)).toBe(true);
          expect(result).toBeLessThanOrEqual(ttl);
          expect(result).toBeGreaterThanOrEqual(Math.max(1, ttl - ttl * ratio));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['0', 0],
    ['negative', -5],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '300'],
  ])('rejects a ttl that is %s with InvalidTtlError', (_, ttl) => {
    expect(() => jitter(ttl as number)).toThrow(InvalidTtlError);
    expect(() => jitter(ttl as number)).toThrow(/^ttl: expected a positive integer/);
  });

  it.each([
    ['negative', -0.1],
    ['above 1', 1.5],
    ['NaN', Number.NaN],
    ['a string', '0.1'],
  ])('rejects a ratio that is %s with InvalidOptionsError', (_, ratio) => {
    expect(() => jitter(300, { ratio: ratio as number })).toThrow(InvalidOptionsError);
    expect(() => jitter(300, { ratio: ratio as number })).toThrow(/^ratio: /);
  });

  it('rejects a random that is not a function', () => {
    expect(() => jitter(300, { random: 0.5 as unknown as () => number })).toThrow(
      /^random: expected a function/,
    );
  });

  it.each([
    ['1', 1],
    ['negative', -0.5],
    ['NaN', Number.NaN],
  ])('rejects a random source returning %s', (_, value) => {
    expect(() => jitter(300, { random: () => value })).toThrow(InvalidOptionsError);
    expect(() => jitter(300, { random: () => value })).toThrow(
      /^random: expected a number in \[0, 1\)/,
    );
  });
});
