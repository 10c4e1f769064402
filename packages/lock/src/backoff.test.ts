import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RetrySchedule, retryDelay } from './backoff.js';

const guide: RetrySchedule = {
  retries: 10,
  baseDelay: 100,
  maxDelay: 5_000,
  factor: 2,
  jitter: 0,
  deadline: undefined,
};

describe('retryDelay', () => {
  it('doubles from 100 ms and caps at 5 s (the guide’s schedule)', () => {
    const delays = Array.from({ length: 10 }, (_, attempt) => retryDelay(attempt, guide, () => 0));

    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
  });

  it('removes at most `jitter` of the delay, and never adds to it', () => {
    const schedule = { ...guide, jitter: 0.2 };

    expect(retryDelay(3, schedule, () => 0)).toBe(800);
    expect(retryDelay(3, schedule, () => 0.5)).toBe(720);
    expect(retryDelay(3, schedule, () => 0.999_999)).toBeCloseTo(640, 3);
  });

  it('stays within [capped × (1 − jitter), capped] for any schedule', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2_000 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        fc.double({ min: 1, max: 1_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelay, extra, factor, jitter, random) => {
          const schedule = { ...guide, baseDelay, maxDelay: baseDelay + extra, factor, jitter };
          const grown = baseDelay === 0 ? 0 : baseDelay * factor ** attempt;
          const capped = Math.min(schedule.maxDelay, grown);
          const delay = retryDelay(attempt, schedule, () => random);
          expect(delay).toBeLessThanOrEqual(schedule.maxDelay);
          expect(delay).toBeLessThanOrEqual(capped + 1e-9);
          expect(delay).toBeGreaterThanOrEqual(capped * (1 - jitter) - 1e-9);
        },
      ),
    );
  });

  it('is 0 with a 0 ms base delay, even when factor^attempt overflows', () => {
    expect(retryDelay(5_000, { ...guide, baseDelay: 0 }, () => 0)).toBe(0);
  });
});
