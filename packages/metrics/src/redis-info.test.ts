import { describe, expect, it } from 'vitest';
import { INFO_MEMORY_UNLIMITED, INFO_STATS } from './redis-info.fixtures.js';
import { infoNumber, parseRedisInfo } from './redis-info.js';

describe('parseRedisInfo', () => {
  it('reads the fields of a real INFO memory reply', () => {
    const info = parseRedisInfo(INFO_MEMORY_UNLIMITED);

    expect(info.used_memory).toBe('939256');
    expect(info.maxmemory).toBe('0');
    expect(info.maxmemory_policy).toBe('noeviction');
    expect(info.mem_fragmentation_ratio).toBe('7.83');
    expect(info.mem_allocator).toBe('jemalloc-5.3.0');
  });

  it('reads several sections at once and skips their headers', () => {
    const info = parseRedisInfo(`${INFO_MEMORY_UNLIMITED}${INFO_STATS}`);

    expect(info.evicted_keys).toBe('0');
    expect(info.used_memory).toBe('939256');
    expect(Object.keys(info).some((k) => k.startsWith('#'))).toBe(false);
  });

  it('keeps colons inside values (the guide split on every colon)', () => {
    const info = parseRedisInfo(
      '# Server\r\nexecutable:/usr/bin/redis-server\r\nconfig_file:C:\\redis.conf\r\n',
    );

    expect(info.executable).toBe('/usr/bin/redis-server');
    expect(info.config_file).toBe('C:\\redis.conf');
  });

  it('accepts \\n line ends, blank lines and a last line without an end', () => {
    expect(parseRedisInfo('a:1\n\nb:2\r\n\r\nc:3')).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('keeps keyspace lines whole', () => {
    expect(parseRedisInfo('# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n').db0).toBe(
      'keys=3,expires=1,avg_ttl=0',
    );
  });

  it('returns an empty record for empty or garbage input', () => {
    expect(parseRedisInfo('')).toEqual({});
    expect(parseRedisInfo('no colon here\r\n# only: a comment')).toEqual({});
  });

  it('does not let a field named like an Object method collide with the prototype', () => {
    const info = parseRedisInfo('x:1');
    expect(info.toString).toBeUndefined();
  });
});

describe('infoNumber', () => {
  it('converts numbers and returns null, never NaN, for anything else', () => {
    const info = parseRedisInfo('a:42\r\nb:1.5\r\nc:nan\r\nd:\r\ne:abc');

    expect(infoNumber(info, 'a')).toBe(42);
    expect(infoNumber(info, 'b')).toBe(1.5);
    expect(infoNumber(info, 'c')).toBeNull();
    expect(infoNumber(info, 'd')).toBeNull();
    expect(infoNumber(info, 'e')).toBeNull();
    expect(infoNumber(info, 'missing')).toBeNull();
  });
});
