import { describe, expect, it } from 'vitest';
import { CACHE_KEYS, createCacheKeys } from './cache-keys.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';

const ID = '550e8400-e29b-41d4-a716-446655440000';

describe('CACHE_KEYS', () => {
  it.each([
    ['USER', CACHE_KEYS.USER('u1'), 'user:u1'],
    ['AGENT', CACHE_KEYS.AGENT(ID), `agent:${ID}`],
    ['TASK', CACHE_KEYS.TASK(7), 'task:7'],
    ['SESSION', CACHE_KEYS.SESSION('s1'), 'session:s1'],
    ['TASKS_AGENT', CACHE_KEYS.TASKS_AGENT(ID), `tasks:agent:${ID}`],
    ['VOTES_AGENT', CACHE_KEYS.VOTES_AGENT(ID), `votes:agent:${ID}`],
    ['AGENTS_ACTIVE', CACHE_KEYS.AGENTS_ACTIVE(), 'agents:active'],
    ['AGENT_STATS', CACHE_KEYS.AGENT_STATS(ID), `stats:agent:${ID}`],
    ['AGENT_METRICS', CACHE_KEYS.AGENT_METRICS(ID, 'daily'), `metrics:agent:${ID}:daily`],
    ['LEADERBOARD', CACHE_KEYS.LEADERBOARD('weekly'), 'leaderboard:weekly'],
    ['LEADERBOARD_PERCENTILE', CACHE_KEYS.LEADERBOARD_PERCENTILE('daily'), 'lb:percentile:daily'],
    ['QUERY', CACHE_KEYS.QUERY('abc123'), 'query:abc123'],
    ['LOCK', CACHE_KEYS.LOCK('report'), 'lock:report'],
    ['LOCK (several segments)', CACHE_KEYS.LOCK('agent', ID), `lock:agent:${ID}`],
    ['RATE_LIMIT', CACHE_KEYS.RATE_LIMIT('u1', 'login'), 'rl:u1:login'],
    ['CHANNEL_UPDATES', CACHE_KEYS.CHANNEL_UPDATES('agents'), 'updates:agents'],
    ['TEMP_DATA', CACHE_KEYS.TEMP_DATA('s1', 'd1'), 'temp:s1:d1'],
    ['TAG', CACHE_KEYS.TAG('agent-list'), 'tag:agent-list'],
    ['ENTITY_TAGS', CACHE_KEYS.ENTITY_TAGS(ID), `tags:${ID}`],
  ])("%s has the guide's format", (_, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('escapes an id that contains the separator', () => {
    expect(CACHE_KEYS.AGENT('1:stats')).toBe('agent:1%3Astats');
  });

  it('keeps a whole cache key passed to ENTITY_TAGS as one segment', () => {
    expect(CACHE_KEYS.ENTITY_TAGS('agent:1')).toBe('tags:agent%3A1');
    expect(CACHE_KEYS.ENTITY_TAGS('agent', 1)).toBe('tags:agent:1');
  });

  it('never lets two families produce the same key', () => {
    const id = 'x';
    const all = [
      CACHE_KEYS.USER(id),
      CACHE_KEYS.AGENT(id),
      CACHE_KEYS.TASK(id),
      CACHE_KEYS.SESSION(id),
      CACHE_KEYS.TASKS_AGENT(id),
      CACHE_KEYS.VOTES_AGENT(id),
      CACHE_KEYS.AGENTS_ACTIVE(),
      CACHE_KEYS.AGENT_STATS(id),
      CACHE_KEYS.AGENT_METRICS(id, id),
      CACHE_KEYS.LEADERBOARD(id),
      CACHE_KEYS.LEADERBOARD_PERCENTILE(id),
      CACHE_KEYS.QUERY(id),
      CACHE_KEYS.LOCK(id),
      CACHE_KEYS.RATE_LIMIT(id, id),
      CACHE_KEYS.CHANNEL_UPDATES(id),
      CACHE_KEYS.TEMP_DATA(id, id),
      CACHE_KEYS.TAG(id),
      CACHE_KEYS.ENTITY_TAGS(id),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('rejects an invalid id with InvalidKeyError', () => {
    expect(() => CACHE_KEYS.AGENT('')).toThrow(InvalidKeyError);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(CACHE_KEYS)).toBe(true);
  });
});

describe('createCacheKeys', () => {
  it('builds the families on a prefixed builder', () => {
    expect(createCacheKeys({ prefix: 'billing' }).AGENT_STATS(1)).toBe('billing:stats:agent:1');
  });

  it('rejects invalid options with InvalidOptionsError', () => {
    expect(() => createCacheKeys({ separator: 'ab' })).toThrow(InvalidOptionsError);
  });
});
