import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKET_BOUNDS_MS, LatencyHistogram } from './histogram.js';

const WIDTH = 2 ** 0.25; // one bucket

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

describe('LatencyHistogram', () => {
  it('uses fixed log-spaced bounds from 1 µs to beyond 2 minutes', () => {
    expect(LATENCY_BUCKET_BOUNDS_MS[0]).toBeCloseTo(0.001, 4);
    expect(LATENCY_BUCKET_BOUNDS_MS).toContain(1);
    expect(LATENCY_BUCKET_BOUNDS_MS.at(-1)).toBeGreaterThan(120_000);
    expect(
      (LATENCY_BUCKET_BOUNDS_MS[1] as number) / (LATENCY_BUCKET_BOUNDS_MS[0] as number),
    ).toBeCloseTo(WIDTH);
  });

  it('reports null percentiles and no NaN when empty', () => {
    expect(new LatencyHistogram().snapshot()).toEqual({
      count: 0,
      sumMs: 0,
      minMs: null,
      maxMs: null,
      meanMs: null,
      p50Ms: null,
      p90Ms: null,
      p99Ms: null,
    });
  });

  it('returns the value itself when every observation is equal', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 50; i++) h.observe(7);

    expect(h.snapshot()).toMatchObject({ count: 50, p50Ms: 7, p90Ms: 7, p99Ms: 7, meanMs: 7 });
  });

  it('estimates p50/p90/p99 of 1..1000 ms within one bucket', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.observe(ms);

    for (const [q, exact] of [
      [0.5, 500],
      [0.9, 900],
      [0.99, 990],
    ] as const) {
      const estimate = h.percentile(q) as number;
      expect(estimate / exact).toBeGreaterThan(1 / WIDTH);
      expect(estimate / exact).toBeLessThan(WIDTH);
    }
  });

  it('sees a slow tail that an average hides', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 98; i++) h.observe(1);
    h.observe(2_000);
    h.observe(2_000);

    expect(h.snapshot().meanMs).toBeCloseTo(40.98);
    expect(h.percentile(0.5)).toBe(1);
    expect(h.percentile(0.99)).toBeGreaterThan(1_000);
  });

  it('keeps values beyond the last bound in an overflow bucket, up to the max', () => {
    const h = new LatencyHistogram();
    h.observe(500_000);
    h.observe(600_000);

    expect(h.percentile(0.99)).toBeLessThanOrEqual(600_000);
    expect(h.percentile(0.99)).toBeGreaterThan(500_000 / WIDTH);
    expect(h.snapshot().maxMs).toBe(600_000);
  });

  it('ignores negative and non-finite durations', () => {
    const h = new LatencyHistogram();
    h.observe(-1);
    h.observe(Number.NaN);
    h.observe(Number.POSITIVE_INFINITY);

    expect(h.count).toBe(0);
  });

  it('puts every percentile within one bucket of the exact one (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.002, max: 100_000, noNaN: true }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.constantFrom(0.5, 0.9, 0.99),
        (values, q) => {
          const h = new LatencyHistogram();
          for (const v of values) h.observe(v);
          const exact = exactQuantile(
            [...values].sort((a, b) => a - b),
            q,
          );
          const estimate = h.percentile(q) as number;
          expect(estimate).toBeGreaterThanOrEqual(exact / WIDTH - 1e-9);
          expect(estimate).toBeLessThanOrEqual(exact * WIDTH + 1e-9);
        },
      ),
    );
  });

  it('forgets everything on reset()', () => {
    const h = new LatencyHistogram();
    h.observe(3);
    h.reset();

    expect(h.snapshot().count).toBe(0);
    expect(h.percentile(0.5)).toBeNull();
  });
});
