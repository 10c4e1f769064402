import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { InvalidationMessage } from './types.js';

const messages: InvalidationMessage[] = [
  { type: 'keys', keys: ['user:1', 'a"b'] },
  { type: 'tags', tags: ['agent:1', 'leaderboard'], versions: [1_732_000_000_000_001, 3] },
  { type: 'pattern', pattern: 't:acme\\*:*' },
  { type: 'clear' },
];

describe('bus wire format', () => {
  it.each(messages)('round-trips %j with the sender id', (message) => {
    expect(decodeMessage(encodeMessage('me', message))).toEqual({ from: 'me', message });
  });

  it('carries no values, only keys, tags and patterns', () => {
    expect(encodeMessage('me', { type: 'keys', keys: ['k'] })).toBe('{"i":"me","t":"k","k":["k"]}');
  });

  it.each([
    'not json',
    'null',
    '{"i":"x","t":"k","k":[1]}',
    '{"i":"x","t":"g","g":["a"],"n":[]}',
    '{"i":"x","t":"p","p":""}',
    '{"i":"x","t":"?"}',
  ])('reads %s as unreadable, without throwing', (raw) => {
    expect(decodeMessage(raw).message).toBeUndefined();
  });
});
