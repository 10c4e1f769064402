import { globMatcher } from '@tiercache/keys';
import { describe, expect, it } from 'vitest';
import { glob } from './glob.js';

describe('glob template', () => {
  it('keeps the literal parts as glob syntax', () => {
    expect(glob`tasks:agent:${'a1'}:*`).toBe('tasks:agent:a1:*');
  });

  it.each(['acme*', 'a?c', '[x]', 'a\\b', '*'])(
    'matches the interpolated value %s literally, nothing wider',
    (id) => {
      const match = globMatcher(glob`t:${id}:*`);
      expect(match(`t:${id}:user:1`)).toBe(true);
      expect(match('t:acme-corp:user:1')).toBe(false);
      expect(match('t:abc:user:1')).toBe(false);
      expect(match('t:x:user:1')).toBe(false);
    },
  );

  it('encodes values as key segments (":" cannot add a level)', () => {
    expect(glob`agent:${'a:b'}`).toBe('agent:a%3Ab');
  });
});
