import { describe, expect, it } from 'vitest';
import { isTagStamp, TagState } from './tag-state.js';

describe('TagState', () => {
  it('knows nothing at first: no stamp is stale', () => {
    expect(new TagState(10).isStale({ a: 0 })).toBe(false);
  });

  it('marks stamps older than a raised version stale, and equal or newer ones not', () => {
    const state = new TagState(10);
    state.raise(['a'], [5], 0, 1000);
    expect(state.isStale({ a: 4, b: 0 })).toBe(true);
    expect(state.isStale({ a: 5 })).toBe(false);
    expect(state.isStale({ a: 6 })).toBe(false);
    expect(state.isStale({ b: 1 })).toBe(false);
  });

  it('never lowers a version (a late message does not undo a newer one)', () => {
    const state = new TagState(10);
    state.raise(['a'], [6], 0, 1000);
    state.raise(['a'], [5], 1, 1000);
    expect(state.isStale({ a: 5 })).toBe(true);
  });

  it('forgets versions learnt before the horizon when full', () => {
    const state = new TagState(2);
    state.raise(['a', 'b'], [1, 1], 0, 100);
    expect(state.raise(['c'], [1], 500, 100)).toBe(true);
    expect(state.size).toBe(1);
  });

  it('reports when it cannot stay within its bound', () => {
    const state = new TagState(2);
    state.raise(['a', 'b'], [1, 1], 0, 1000);
    expect(state.raise(['c'], [1], 500, 1000)).toBe(false);
  });
});

describe('isTagStamp', () => {
  it('accepts an object of finite numbers only', () => {
    expect(isTagStamp({ a: 1 })).toBe(true);
    expect(isTagStamp({})).toBe(true);
    expect(isTagStamp({ a: '1' })).toBe(false);
    expect(isTagStamp({ a: Number.NaN })).toBe(false);
    expect(isTagStamp([1])).toBe(false);
    expect(isTagStamp(null)).toBe(false);
  });
});
