import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps only the last lines', () => {
    const tail = new OutputTail(2);

    tail.push('one\ntwo\nthree\n');

    expect(tail.text()).toBe('two\nthree');
  });

  it('joins lines split across chunks', () => {
    const tail = new OutputTail();

    tail.push('Address al');
    tail.push('ready in use\r\nnext');

    expect(tail.text()).toBe('Address already in use\nnext');
  });
});
