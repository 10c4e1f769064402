import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RebuildConflictError } from './errors.js';
import { rebuild } from './rebuild.js';
import { redisBloom } from './redis-bloom.js';
import { gatedSource } from './test-support/gated-source.js';

let server: RedisServer;
let client: Redis;
let reader: Redis;
let counter = 0;
const freshKey = (): string => `bloom:rebuild:${++counter}`;
const keys = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.options());
  reader = new Redis(server.options());
});

afterAll(async () => {
  client.disconnect();
  reader.disconnect();
  await server.stop();
});

/** A filter at a fresh key, plus a second handle on it through another connection. */
async function filterWith(added: string[]) {
  const key = freshKey();
  const filter = redisBloom({ client, key, expectedItems: 10_000 });
  const otherInstance = redisBloom({ client: reader, key, expectedItems: 10_000 });
  await filter.clear();
  await filter.addMany(added);
  return { key, filter, otherInstance };
}

describe('rebuild (shared filter)', () => {
  it('replaces the contents with the source and returns the count', async () => {
    const { filter } = await filterWith(keys('old', 2000));
    expect(await rebuild(filter, keys('new', 3000), { batchSize: 500 })).toBe(3000);
    expect((await filter.hasMany(keys('new', 3000))).every(Boolean)).toBe(true);
    const oldStillThere = (await filter.hasMany(keys('old', 2000))).filter(Boolean).length;
    expect(oldStillThere).toBeLessThan(100);
  });

  it('leaves only the filter key behind, without a TTL', async () => {
    const { key, filter } = await filterWith(['a']);
    await filter.rebuild(['b']);
    const tag = `{${key}}`;
    expect(await scanKeys(`${tag}*`)).toEqual([]);
    expect(await client.pttl(key)).toBe(-1);
  });

  it('never shows readers a false negative for keys in both the old and new sets', async () => {
    const both = keys('both', 1000);
    const { filter, otherInstance } = await filterWith([...both, ...keys('old-only', 500)]);
    const batches = [both.slice(0, 500), both.slice(500), keys('new-only', 500)];
    const { source, release, consumed } = gatedSource(batches);
    const done = filter.rebuild(source, { batchSize: 100 });
    let reading = true;
    const readerLoop = (async () => {
      let reads = 0;
      while (reading) {
        const answers = await otherInstance.hasMany(both);
        if (!answers.every(Boolean)) throw new Error('false negative during rebuild');
        reads++;
      }
      return reads;
    })();
    for (const i of batches.keys()) {
      release(i);
      await consumed(i);
      expect((await otherInstance.hasMany(both)).every(Boolean)).toBe(true);
    }
    await done;
    reading = false;
    expect(await readerLoop).toBeGreaterThan(0);
    expect((await otherInstance.hasMany(both)).every(Boolean)).toBe(true);
    expect((await otherInstance.hasMany(keys('new-only', 500))).every(Boolean)).toBe(true);
  });

  it('answers from the old filter until the swap', async () => {
    const { filter, otherInstance } = await filterWith(['old-only']);
    const { source, release, consumed } = gatedSource([['new-only']]);
    const done = filter.rebuild(source);
    release(0);
    await consumed(0);
    expect(await otherInstance.hasMany(['old-only', 'new-only'])).toEqual([true, false]);
    await done;
    expect(await otherInstance.hasMany(['old-only', 'new-only'])).toEqual([false, true]);
  });

  it('keeps keys another instance added while it ran', async () => {
    const { filter, otherInstance } = await filterWith([]);
    const { source, release } = gatedSource([['from-source']]);
    const done = filter.rebuild(source);
    await otherInstance.add('added-meanwhile');
    release(0);
    await done;
    expect(await otherInstance.hasMany(['from-source', 'added-meanwhile'])).toEqual([true, true]);
  });

  it('creates a missing filter, keeping keys added while it ran', async () => {
    const key = freshKey();
    const filter = redisBloom({ client, key, expectedItems: 1000 });
    const { source, release } = gatedSource([['from-source']]);
    const done = filter.rebuild(source);
    await filter.add('added-meanwhile');
    release(0);
    await done;
    expect(await filter.exists()).toBe(true);
    expect(await filter.hasMany(['from-source', 'added-meanwhile', 'never'])).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('refuses a second rebuild while one runs', async () => {
    const { filter, otherInstance } = await filterWith([]);
    const { source, release } = gatedSource([['a']]);
    const first = filter.rebuild(source);
    await expect(otherInstance.rebuild(['b'])).rejects.toThrow(RebuildConflictError);
    release(0);
    await expect(first).resolves.toBe(1);
    expect(await filter.hasMany(['a', 'b'])).toEqual([true, false]);
  });

  it('gives up without touching the filter when its lease is lost', async () => {
    const { key, filter } = await filterWith(['old']);
    const { source, release, consumed } = gatedSource([['new-1'], ['new-2']]);
    const done = filter.rebuild(source, { batchSize: 1 });
    const outcome = expect(done).rejects.toThrow(/lease expired/);
    release(0);
    await consumed(0);
    await client.del(`{${key}}:rebuild:lease`); // as if the lease had expired
    release(1);
    await outcome;
    expect(await filter.hasMany(['old', 'new-1', 'new-2'])).toEqual([true, false, false]);
    expect(await scanKeys(`{${key}}*`)).toEqual([]);
  });

  it('keeps the old filter when the source fails', async () => {
    const { key, filter } = await filterWith(['old']);
    async function* source(): AsyncGenerator<string> {
      yield 'new';
      throw new Error('database went away');
    }
    await expect(filter.rebuild(source())).rejects.toThrow('database went away');
    expect(await filter.hasMany(['old', 'new'])).toEqual([true, false]);
    expect(await scanKeys(`{${key}}*`)).toEqual([]);
  });

  it('uploads a filter larger than one upload chunk', async () => {
    const key = freshKey();
    const filter = redisBloom({ client, key, expectedItems: 2_000_000 });
    expect(filter.bytes).toBeGreaterThan(2 * 1024 * 1024);
    await filter.rebuild(keys('k', 20_000));
    expect(await client.strlen(key)).toBe(filter.bytes);
    expect((await filter.hasMany(keys('k', 20_000))).every(Boolean)).toBe(true);
  });
});

/** Keys matching `pattern`, by SCAN (never KEYS, even on a test server). */
async function scanKeys(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}
