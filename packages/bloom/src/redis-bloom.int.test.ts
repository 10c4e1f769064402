import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BloomConfigMismatchError, InvalidOptionsError } from './errors.js';
import { inProcessBloom } from './in-process-bloom.js';
import { redisBloom } from './redis-bloom.js';

let server: RedisServer;
let client: Redis;
let other: Redis;
let counter = 0;
const freshKey = (): string => `bloom:test:${++counter}`;
const keys = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.options());
  other = new Redis(server.options());
});

afterAll(async () => {
  client.disconnect();
  other.disconnect();
  await server.stop();
});

describe('redisBloom', () => {
  it('says a key added through one client might exist through another', async () => {
    const key = freshKey();
    const a = redisBloom({ client, key, expectedItems: 1000 });
    const b = redisBloom({ client: other, key, expectedItems: 1000 });
    await a.clear();
    await a.add('user:42');
    expect(await b.has('user:42')).toBe(true);
  });

  it('says a key nobody added is absent', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    await filter.clear();
    await filter.add('user:42');
    expect(await filter.has('user:43')).toBe(false);
  });

  it('stores a bitmap of exactly the computed size', async () => {
    const key = freshKey();
    const filter = redisBloom({ client, key, expectedItems: 1000 });
    await filter.clear();
    expect(await client.strlen(key)).toBe(1199);
    expect([filter.bits, filter.hashes]).toEqual([9586, 7]);
  });

  it('sets the same bits as an in-process filter of the same sizing', async () => {
    const key = freshKey();
    const shared = redisBloom({ client, key, expectedItems: 1000 });
    const local = inProcessBloom({ expectedItems: 1000 });
    await shared.clear();
    await shared.addMany(keys('k', 300));
    local.addMany(keys('k', 300));
    expect(await shared.export()).toEqual(local.export());
  });

  it('pipelines addMany and hasMany in batches without false negatives', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 5000, batchSize: 700 });
    await filter.clear();
    expect(await filter.addMany(keys('in', 5000))).toBe(5000);
    const answers = await filter.hasMany(keys('in', 5000));
    expect(answers).toHaveLength(5000);
    expect(answers.every(Boolean)).toBe(true);
  });

  it('keeps its false-positive rate near the target', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 5000 });
    await filter.clear();
    await filter.addMany(keys('in', 5000));
    const falsePositives = (await filter.hasMany(keys('out', 20_000))).filter(Boolean).length;
    expect(falsePositives / 20_000).toBeLessThan(0.02);
  });

  it('reports stats from BITCOUNT', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 5000 });
    await filter.clear();
    await filter.addMany(keys('in', 5000));
    const stats = await filter.stats();
    expect(stats.fillRatio).toBeGreaterThan(0.45);
    expect(stats.fillRatio).toBeLessThan(0.55);
    expect(stats.estimatedItems).toBeGreaterThan(4800);
    expect(stats.estimatedItems).toBeLessThan(5200);
  });

  it('exports a bitmap that seeds a synchronous local copy', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    await filter.clear();
    await filter.addMany(keys('k', 100));
    const copy = inProcessBloom({ expectedItems: 1000, data: await filter.export() });
    expect(keys('k', 100).every((k) => copy.has(k))).toBe(true);
  });

  it('recovers when the server forgot its scripts', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    await filter.clear();
    await filter.add('a');
    await client.script('FLUSH');
    await filter.add('b');
    await client.script('FLUSH');
    await filter.addMany(['c', 'd']);
    await client.script('FLUSH');
    expect(await filter.hasMany(['a', 'b', 'c', 'd'])).toEqual([true, true, true, true]);
  });

  it('rejects options naming the field', () => {
    expect(() => redisBloom({ client, key: '', expectedItems: 10 })).toThrow(/key/);
    expect(() => redisBloom({ client: {} as never, key: 'k', expectedItems: 10 })).toThrow(
      /client: expected an ioredis/,
    );
    expect(() => redisBloom({ client, key: 'bloom:users}', expectedItems: 10 })).toThrow(
      InvalidOptionsError,
    );
  });
});

describe('redisBloom without a filter in Redis', () => {
  it('says every key might exist and calls onMissing', async () => {
    const onMissing = vi.fn();
    const key = freshKey();
    const filter = redisBloom({ client, key, expectedItems: 1000, onMissing });
    expect(await filter.has('anything')).toBe(true);
    expect(await filter.hasMany(['a', 'b'])).toEqual([true, true]);
    expect(onMissing).toHaveBeenCalledWith(key);
  });

  it('does not create the filter on add', async () => {
    // A filter lost to a restart must not come back holding only the keys added since.
    const onMissing = vi.fn();
    const key = freshKey();
    const filter = redisBloom({ client, key, expectedItems: 1000, onMissing });
    await filter.add('a');
    await filter.addMany(['b', 'c']);
    expect(await filter.exists()).toBe(false);
    expect(onMissing).toHaveBeenCalledTimes(2);
  });

  it('exists after clear', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    await filter.clear();
    expect(await filter.exists()).toBe(true);
  });

  it('exports nothing', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    expect(await filter.export()).toBeUndefined();
  });

  it('says every key might exist again after delete', async () => {
    const filter = redisBloom({ client, key: freshKey(), expectedItems: 1000 });
    await filter.clear();
    await filter.delete();
    expect(await filter.has('never-added')).toBe(true);
  });
});

describe('redisBloom with mismatched sizing', () => {
  it('refuses to answer from a bitmap of another size', async () => {
    const key = freshKey();
    await redisBloom({ client, key, expectedItems: 1000 }).clear();
    const other = redisBloom({ client, key, expectedItems: 2000 });
    await expect(other.has('a')).rejects.toThrow(BloomConfigMismatchError);
    await expect(other.has('a')).rejects.toThrow(/holds 1199 bytes.*size it at 2397 bytes/);
    await expect(other.add('a')).rejects.toThrow(BloomConfigMismatchError);
  });

  it('refuses a key of another type', async () => {
    const key = freshKey();
    await client.lpush(key, 'x');
    const filter = redisBloom({ client, key, expectedItems: 1000 });
    await expect(filter.has('a')).rejects.toThrow(BloomConfigMismatchError);
  });
});
