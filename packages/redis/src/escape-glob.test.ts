import { describe, expect, it } from 'vitest';
import { escapeGlob } from './escape-glob.js';

describe('escapeGlob', () => {
  it('leaves a plain prefix unchanged', () => {
    expect(escapeGlob('tc:users:')).toBe('tc:users:');
  });

  it('escapes every glob metacharacter', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
  });
});
