import { describe, expect, it } from 'vitest';
import { deepFreeze } from './deep-freeze.js';

describe('deepFreeze', () => {
  it('freezes nested objects and arrays', () => {
    const value = deepFreeze({ a: { b: [{ c: 1 }] } });
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
    expect(Object.isFrozen(value.a.b[0])).toBe(true);
  });

  it('returns primitives unchanged', () => {
    expect(deepFreeze('x')).toBe('x');
    expect(deepFreeze(null)).toBe(null);
  });

  it('terminates on cycles', () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    expect(Object.isFrozen(deepFreeze(value))).toBe(true);
  });

  it('leaves typed arrays mutable instead of throwing', () => {
    const value = deepFreeze({ bytes: new Uint8Array(2) });
    value.bytes[0] = 1;
    expect(value.bytes[0]).toBe(1);
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('freezes the contents of Maps and Sets', () => {
    const inner = { n: 1 };
    deepFreeze({ map: new Map([['k', inner]]), set: new Set([{ m: 2 }]) });
    expect(Object.isFrozen(inner)).toBe(true);
  });

  it('handles deep nesting without overflowing the stack', () => {
    let value: Record<string, unknown> = {};
    const root = value;
    for (let i = 0; i < 100_000; i++) {
      const next = {};
      value.next = next;
      value = next;
    }
    deepFreeze(root);
    expect(Object.isFrozen(value)).toBe(true);
  });
});
