import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoarseClock } from './coarse-clock.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 5_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CoarseClock', () => {
  it('reads Date.now() once and serves the cached value within the millisecond', () => {
    const clock = new CoarseClock();
    const spy = vi.spyOn(Date, 'now');
    expect(clock.now()).toBe(5_000);
    expect(clock.now()).toBe(5_000);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('reads the time again once its 1 ms timer has fired', () => {
    const clock = new CoarseClock();
    clock.now();
    vi.advanceTimersByTime(1);
    expect(clock.now()).toBe(5_001);
  });

  it('reads the time again after 1000 reads even when no timer could fire', () => {
    const clock = new CoarseClock();
    clock.now();
    vi.setSystemTime(9_000); // time moves, the 1 ms timer has not run
    const seen = new Set(Array.from({ length: 1_000 }, () => clock.now()));
    expect(seen).toEqual(new Set([5_000, 9_000]));
  });

  it('leaves no timer behind after stop()', () => {
    const clock = new CoarseClock();
    clock.now();
    clock.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
