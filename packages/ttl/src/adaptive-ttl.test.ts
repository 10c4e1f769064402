import { describe, expect, it, vi } from 'vitest';
import { adaptiveTtl } from './adaptive-ttl.js';
import { InvalidOptionsError, InvalidTtlError } from './errors.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('adaptiveTtl', () => {
  it.each([
    ['just now', 0, 60],
    ['59.999 s ago', MINUTE - 1, 60],
    ['1 minute ago', MINUTE, 300],
    ['59 minutes ago', HOUR - 1, 300],
    ['1 hour ago', HOUR, 1800],
    ['23.99 hours ago', DAY - 1, 1800],
    ['24 hours ago', DAY, 3600],
    ['a year ago', 365 * DAY, 3600],
  ])('gives data modified %s a TTL of %i s', (_, age, expected) => {
    expect(adaptiveTtl(NOW - age, { now: NOW })).toBe(expected);
  });

  it('treats a timestamp in the future as just modified', () => {
    expect(adaptiveTtl(NOW + HOUR, { now: NOW })).toBe(60);
  });

  it('accepts a Date', () => {
    expect(adaptiveTtl(new Date(NOW - 2 * HOUR), { now: NOW })).toBe(1800);
  });

  it('reads the time from an injected clock', () => {
    let clock = NOW;
    const now = () => clock;
    const modified = NOW;
    expect(adaptiveTtl(modified, { now })).toBe(60);
    clock += 2 * MINUTE;
    expect(adaptiveTtl(modified, { now })).toBe(300);
  });

  it('uses Date.now by default', () => {
    vi.useFakeTimers({ now: NOW });
    try {
      expect(adaptiveTtl(NOW - 3 * HOUR)).toBe(1800);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date('nope')],
    ['a string', '2025-01-01'],
    ['undefined', undefined],
  ])('rejects a lastModified that is %s with InvalidTtlError', (_, value) => {
    expect(() => adaptiveTtl(value as number, { now: NOW })).toThrow(InvalidTtlError);
    expect(() => adaptiveTtl(value as number, { now: NOW })).toThrow(/^lastModified: /);
  });

  it.each([
    ['NaN', Number.NaN],
    ['a string', 'now'],
    ['a clock returning NaN', () => Number.NaN],
  ])('rejects a now that is %s with InvalidOptionsError', (_, now) => {
    expect(() => adaptiveTtl(NOW, { now: now as number })).toThrow(InvalidOptionsError);
    expect(() => adaptiveTtl(NOW, { now: now as number })).toThrow(/^now: /);
  });

  it('gives its errors stable codes', () => {
    expect(() => adaptiveTtl(Number.NaN)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_TTL' }),
    );
    expect(() => adaptiveTtl(NOW, { now: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTIONS' }),
    );
  });
});
