import { describe, expect, it } from 'vitest';
import { ADMIT, CircuitBreaker, type CircuitState, PROBE, REJECT } from './circuit-breaker.js';

function breaker(failureThreshold = 3, resetTimeout = 1_000) {
  let now = 0;
  const changes: Array<[CircuitState, CircuitState]> = [];
  const cb = new CircuitBreaker({
    failureThreshold,
    resetTimeout,
    clock: () => now,
    onStateChange: (state, previous) => changes.push([state, previous]),
  });
  return {
    cb,
    changes,
    advance(ms: number) {
      now += ms;
    },
    fail(times: number) {
      for (let i = 0; i < times; i++) {
        expect(cb.admit()).toBe(ADMIT);
        cb.failure(false);
      }
    },
  };
}

describe('CircuitBreaker', () => {
  it('starts closed and admits calls', () => {
    const { cb } = breaker();
    expect(cb.state).toBe('closed');
    expect(cb.admit()).toBe(ADMIT);
  });

  it('stays closed below the failure threshold', () => {
    const { cb, fail, changes } = breaker(3);
    fail(2);
    expect(cb.state).toBe('closed');
    expect(cb.failures).toBe(2);
    expect(changes).toEqual([]);
  });

  it('opens after failureThreshold consecutive failures', () => {
    const { cb, fail, changes } = breaker(3);
    fail(3);
    expect(cb.state).toBe('open');
    expect(changes).toEqual([['open', 'closed']]);
  });

  it('resets the failure count on a success', () => {
    const { cb, fail } = breaker(3);
    fail(2);
    cb.success(false);
    fail(2);
    expect(cb.state).toBe('closed');
    expect(cb.failures).toBe(2);
  });

  it('rejects every call while open, before resetTimeout', () => {
    const { cb, fail, advance } = breaker(1, 1_000);
    fail(1);
    advance(999);
    expect(cb.admit()).toBe(REJECT);
    expect(cb.admit()).toBe(REJECT);
    expect(cb.state).toBe('open');
  });

  it('lets exactly one probe through after resetTimeout (half-open)', () => {
    const { cb, fail, advance, changes } = breaker(1, 1_000);
    fail(1);
    advance(1_000);
    expect(cb.admit()).toBe(PROBE);
    expect(cb.state).toBe('half-open');
    expect(cb.admit()).toBe(REJECT);
    expect(changes.at(-1)).toEqual(['half-open', 'open']);
  });

  it('closes when the probe succeeds', () => {
    const { cb, fail, advance, changes } = breaker(1, 1_000);
    fail(1);
    advance(1_000);
    cb.admit();
    cb.success(true);
    expect(cb.state).toBe('closed');
    expect(cb.failures).toBe(0);
    expect(cb.admit()).toBe(ADMIT);
    expect(changes.map(([state]) => state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens for another resetTimeout when the probe fails', () => {
    const { cb, fail, advance } = breaker(1, 1_000);
    fail(1);
    advance(1_000);
    cb.admit();
    advance(100);
    cb.failure(true);
    expect(cb.state).toBe('open');
    advance(999);
    expect(cb.admit()).toBe(REJECT);
    advance(1);
    expect(cb.admit()).toBe(PROBE);
  });

  it('ignores late outcomes of calls admitted before the circuit opened', () => {
    const { cb, fail, advance } = breaker(1, 1_000);
    fail(1);
    cb.success(false);
    expect(cb.state).toBe('open');
    advance(1_000);
    cb.admit();
    cb.success(false);
    cb.failure(false);
    expect(cb.state).toBe('half-open');
  });

  it('lets a new probe through when a half-open probe never reports', () => {
    const { cb, fail, advance } = breaker(1, 1_000);
    fail(1);
    advance(1_000);
    expect(cb.admit()).toBe(PROBE);
    advance(999);
    expect(cb.admit()).toBe(REJECT);
    advance(1);
    expect(cb.admit()).toBe(PROBE);
    expect(cb.state).toBe('half-open');
  });

  it('counts failures again from zero after closing', () => {
    const { cb, fail, advance } = breaker(2, 1_000);
    fail(2);
    advance(1_000);
    cb.admit();
    cb.success(true);
    fail(1);
    expect(cb.state).toBe('closed');
    fail(1);
    expect(cb.state).toBe('open');
  });

  it('lets the next call probe at once when the probe is abandoned', () => {
    const { cb, fail, advance } = breaker(1, 1_000);
    fail(1);
    advance(1_000);
    expect(cb.admit()).toBe(PROBE);
    cb.abandon();
    expect(cb.admit()).toBe(PROBE);
    expect(cb.state).toBe('half-open');
  });
});
