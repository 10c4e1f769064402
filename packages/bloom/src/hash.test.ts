import { describe, expect, it } from 'vitest';
import { MURMUR3_SEED_2, murmur3Hash } from './hash.js';

const hashOf = (key: string): [number, number] => {
  const out = new Uint32Array(2);
  murmur3Hash(key, out);
  return [out[0]!, out[1]!];
};

describe('murmur3Hash', () => {
  // Published MurmurHash3 x86_32 test vectors, so another language can reproduce positions.
  it.each([
    ['', 0],
    ['a', 0x3c2569b2],
    ['hello', 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ])('gives MurmurHash3_x86_32(%j, seed 0) as the first hash', (key, expected) => {
    expect(hashOf(key)[0]).toBe(expected);
  });

  it.each([
    ['a', 0x7fa09ea6],
    ['ab', 0x74875592],
    ['abc', 0xc84a62dd],
    ['abcd', 0xf0478627],
    ['aaaa', 0x5a97808a],
    ['Hello, world!', 0x24884cba],
    ['ππππππππ', 0xd58063c1],
    ['The quick brown fox jumps over the lazy dog', 0x2fa826cd],
  ])('gives MurmurHash3_x86_32(%j, seed 0x9747b28c) as the second hash', (key, expected) => {
    expect(MURMUR3_SEED_2).toBe(0x9747b28c);
    expect(hashOf(key)[1]).toBe(expected);
  });

  it('hashes the UTF-8 bytes of long non-ASCII keys', () => {
    const key = '键'.repeat(1000);
    const first = hashOf(key);
    hashOf('short');
    expect(hashOf(key)).toEqual(first);
    expect(hashOf(`${key}x`)).not.toEqual(first);
  });
});
