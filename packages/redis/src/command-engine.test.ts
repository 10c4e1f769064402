import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isOutage, typedError } from './command-engine.js';
import { L2CommandError, L2UnavailableError } from './errors.js';

// What a reply error means for the circuit: an outage (counted) or a bad call (not counted).

describe('typedError / isOutage on failover replies', () => {
  it.each([
    ['MOVED 3999 127.0.0.1:7001', 'a Cluster redirection ioredis gave up on (dead master)'],
    ['ASK 3999 127.0.0.1:7001', 'a Cluster redirection during a slot migration'],
    ["READONLY You can't write against a read only replica.", 'a master demoted by failover'],
    ['CLUSTERDOWN The cluster is down', 'slots uncovered'],
  ])('%s is L2UnavailableError, counted by the circuit (%s)', (message) => {
    const typed = typedError(new ReplyError(message), 'SET', 250);

    expect(typed).toBeInstanceOf(L2UnavailableError);
    expect(typed.message).toContain(message);
    expect((typed as L2UnavailableError).cause).toBeInstanceOf(ReplyError);
    expect(isOutage(typed)).toBe(true);
    expect(isOutage(new ReplyError(message))).toBe(true);
  });

  it.each([
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR unknown command',
    'MOVEDX not a redirection',
  ])('%s stays an L2CommandError, not counted', (message) => {
    const typed = typedError(new ReplyError(message), 'GET', 250);

    expect(typed).toBeInstanceOf(L2CommandError);
    expect(isOutage(typed)).toBe(false);
    expect(isOutage(new ReplyError(message))).toBe(false);
  });
});
