import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coarseClock } from './coarse-clock.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('coarseClock', () => {
  it('reuses one Date.now() reading for up to 100 ms', () => {
    const now = coarseClock();
    expect(now()).toBe(1_000);
    vi.setSystemTime(1_050); // time moves, no timer fired yet

    expect(now()).toBe(1_000);
  });

  it('reads the time again once its timer expired', () => {
    const now = coarseClock();
    now();
    vi.advanceTimersByTime(100);

    expect(now()).toBe(1_100);
  });

  it('reads the time again after 10 000 reads, even when no timer can fire', () => {
    const now = coarseClock();
    now();
    vi.setSystemTime(5_000);
    for (let i = 0; i < 9_999; i++) now();

    expect(now()).toBe(5_000);
  });

  it('leaves no timer that keeps the process alive', () => {
    const now = coarseClock();
    now();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);

    expect(vi.getTimerCount()).toBe(0);
  });
});
