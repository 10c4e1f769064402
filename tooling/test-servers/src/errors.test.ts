import { describe, expect, it } from 'vitest';
import { redactSecrets } from './errors.js';

describe('redactSecrets', () => {
  it('masks every occurrence, URL-encoded ones too', () => {
    expect(redactSecrets('requirepass "p@ss" redis://:p%40ss@h p@ss', ['p@ss'])).toBe(
      'requirepass "***" redis://:***@h ***',
    );
  });

  it('masks a longer secret whole when it contains a shorter one', () => {
    expect(redactSecrets('abcdef abc', ['abc', 'abcdef'])).toBe('*** ***');
  });

  it('ignores empty secrets', () => {
    expect(redactSecrets('text', [''])).toBe('text');
  });
});
