import { describe, expect, it } from 'vitest';
import { keySlot, slotTag } from './key-slot.js';

describe('keySlot', () => {
  it('matches the slots of the Redis Cluster specification', () => {
    // Values from CLUSTER KEYSLOT on a real server.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('foo{}{bar}')).toBe(8363);
    expect(keySlot('foo{{bar}}zap')).toBe(4015);
    expect(keySlot('é')).toBe(10180);
  });

  it('hashes only a non-empty hash tag', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
  });

  it('hashes UTF-8 bytes', () => {
    expect(keySlot('é')).toBe(keySlot('{é}x'));
  });
});

describe('slotTag', () => {
  it('gives, for every slot, a tag in that slot', () => {
    for (const slot of [0, 1, 5061, 12182, 16383]) expect(keySlot(`{${slotTag(slot)}}`)).toBe(slot);
  });
});
