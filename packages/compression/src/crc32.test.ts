import { Buffer } from 'node:buffer';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Js } from './crc32.js';

describe('crc32', () => {
  it('gives the standard CRC-32 check value for "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Js(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('falls back to a JavaScript implementation that agrees with zlib', () => {
    const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const expected = native === undefined ? crc32(bytes) : native(bytes);
        expect(crc32Js(bytes)).toBe(expected);
      }),
    );
  });
});
