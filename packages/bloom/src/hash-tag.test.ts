import { describe, expect, it } from 'vitest';
import { sameSlotPrefix } from './hash-tag.js';

describe('sameSlotPrefix', () => {
  it('wraps a key without a hash tag in braces', () => {
    expect(sameSlotPrefix('bloom:users')).toBe('{bloom:users}');
  });

  it('keeps a key that has a hash tag', () => {
    expect(sameSlotPrefix('bloom:{users}')).toBe('bloom:{users}');
  });

  it('wraps a key with an unclosed brace', () => {
    expect(sameSlotPrefix('bloom:{users')).toBe('{bloom:{users}');
  });

  it('gives up on a key with an empty tag', () => {
    expect(sameSlotPrefix('bloom:{}users')).toBeUndefined();
  });

  it('gives up on a key with a closing brace only', () => {
    expect(sameSlotPrefix('bloom:users}')).toBeUndefined();
  });
});
