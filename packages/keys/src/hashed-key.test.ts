import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashedKey } from './default-builder.js';
import { InvalidKeyError } from './errors.js';
import { HASH_LENGTH, hashParts } from './hashed-key.js';

const part = fc.string({ unit: fc.constantFrom('a', 'b', '|', ':', '1', '\u0000', 'é', '😀') });
const parts = fc.array(part, { maxLength: 4 });

describe('hashParts', () => {
  it('returns 22 base64url characters (132 bits)', () => {
    expect(hashParts('select * from agents', '{"limit":10}')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(HASH_LENGTH).toBe(22);
  });

  it('is deterministic', () => {
    expect(hashParts('a', 'b')).toBe(hashParts('a', 'b'));
  });

  it("keeps ['a|b', 'c'] and ['a', 'b|c'] apart (the guide's join('|') does not)", () => {
    expect(hashParts('a|b', 'c')).not.toBe(hashParts('a', 'b|c'));
  });

  it('keeps concatenations apart', () => {
    expect(hashParts('ab', 'c')).not.toBe(hashParts('a', 'bc'));
    expect(hashParts('abc')).not.toBe(hashParts('ab', 'c'));
  });

  it('tells no parts, one empty part and two empty parts apart', () => {
    const digests = new Set([hashParts(), hashParts(''), hashParts('', '')]);
    expect(digests.size).toBe(3);
  });

  it('tells lone surrogates apart (hashed as UTF-16, not lossy UTF-8)', () => {
    expect(hashParts('\ud800')).not.toBe(hashParts('\ud801'));
  });

  it('maps distinct part lists to distinct digests', () => {
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const same = a.length === b.length && a.every((p, i) => p === b[i]);
        expect(hashParts(...a) === hashParts(...b)).toBe(same);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps re-splits of the same text apart', () => {
    fc.assert(
      fc.property(parts, fc.nat(), (a, cut) => {
        const text = a.join('');
        const at = text.length === 0 ? 0 : cut % (text.length + 1);
        const resplit = [text.slice(0, at), text.slice(at)];
        fc.pre(!(a.length === 2 && a[0] === resplit[0] && a[1] === resplit[1]));
        expect(hashParts(...a)).not.toBe(hashParts(...resplit));
      }),
      { numRuns: 2000 },
    );
  });

  it('hashes a number like its String() form', () => {
    expect(hashParts(1)).toBe(hashParts('1'));
  });

  it.each([
    ['NaN', Number.NaN],
    ['undefined', undefined],
    ['an object', {}],
  ])('rejects a part that is %s, naming its index', (_, value) => {
    expect(() => hashParts('ok', value as unknown as string)).toThrow(InvalidKeyError);
    expect(() => hashParts('ok', value as unknown as string)).toThrow(/part at index 1/);
  });
});

describe('hashedKey', () => {
  it('is <prefix>:<digest>', () => {
    expect(hashedKey('q', 'select 1', '[]')).toBe(`q:${hashParts('select 1', '[]')}`);
  });

  it('has a fixed length whatever the parts', () => {
    fc.assert(
      fc.property(parts, (a) => {
        expect(hashedKey('q', ...a)).toHaveLength(2 + HASH_LENGTH);
      }),
    );
  });

  it('accepts parts a plain key would reject (free text, newlines, long strings)', () => {
    expect(hashedKey('q', 'line 1\nline 2', 'x'.repeat(5000))).toHaveLength(2 + HASH_LENGTH);
  });

  it('escapes the prefix like any segment', () => {
    expect(hashedKey('q:v2', 'a')).toBe(`q%3Av2:${hashParts('a')}`);
  });

  it('rejects an empty prefix', () => {
    expect(() => hashedKey('', 'a')).toThrow(/segments must not be empty/);
  });
});
