import { CorruptPayloadError } from '@tiercache/compression';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { runTierConformance } from '@tiercache/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { L2CommandError } from './errors.js';
import type { RedisTierOptions } from './options.js';
import { type RedisTier, redisTier } from './redis-tier.js';

const HOUR = 3_600_000;

function quietLogger() {
  return { warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
}

let server: RedisServer;
let raw: Redis;
const tiers: RedisTier[] = [];
let nextPrefix = 0;

function tier(options: Partial<RedisTierOptions> = {}): RedisTier {
  const created = redisTier({
    connection: server.options(),
    prefix: `t${++nextPrefix}:`,
    logger: quietLogger(),
    ...options,
  } as RedisTierOptions);
  tiers.push(created);
  return created;
}

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.options());
});

afterEach(async () => {
  await Promise.all(tiers.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

// Conformance checks semantics, not latency: a loaded CI box can take longer than the
// 250 ms default to write the suite's 1000-key burst.
const RELAXED = 5_000;

runTierConformance('redisTier (standalone)', async () => {
  // `tier` is typed CacheTier by the fixture: RedisTier conforms structurally.
  const t = tier({ commandTimeout: RELAXED });
  return { tier: t, cleanup: () => t.close() };
});

runTierConformance('redisTier (standalone, batch: false, caller-owned client)', async () => {
  const client = new Redis(server.options());
  const t = redisTier({
    client,
    prefix: `own${++nextPrefix}:`,
    batch: false,
    commandTimeout: RELAXED,
  });
  return {
    tier: t,
    cleanup: async () => {
      await t.close();
      await client.quit();
    },
  };
});

describe('redisTier on standalone Redis', () => {
  it('stores values under the prefix with a millisecond TTL', async () => {
    const t = tier({ prefix: 'app:' });
    await t.set('user:1', { name: 'Ada' }, 90_000);
    const ttl = await raw.pttl('app:user:1');
    expect(ttl).toBeGreaterThan(85_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    await raw.del('app:user:1');
  });

  it('answers concurrent gets of one tick with a single MGET, each in its own order', async () => {
    const client = new Redis({ ...server.options(), enableAutoPipelining: true });
    const t = redisTier({ client, prefix: 'batch:' });
    await t.set('a', 'A', HOUR);
    await t.set('b', 0, HOUR);
    const mget = vi.spyOn(client, 'mgetBuffer');
    const reads = await Promise.all([t.get('b'), t.get('missing'), t.get('a')]);
    expect(reads).toEqual([0, undefined, 'A']);
    expect(mget).toHaveBeenCalledTimes(1);
    await t.clear();
    client.disconnect();
  });

  it('sends a batch as soon as it holds 16 keys and the rest at the end of the tick', async () => {
    const client = new Redis({ ...server.options(), enableAutoPipelining: true });
    const t = redisTier({ client, prefix: 'batch16:' });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) if (i % 3 !== 0) await t.set(key, i, HOUR);
    const mget = vi.spyOn(client, 'mgetBuffer');
    const reads: Promise<unknown>[] = [];
    const sentBefore: number[] = [];
    for (const key of keys) {
      reads.push(t.get(key));
      sentBefore.push(mget.mock.calls.length);
    }
    // Sent during the loop: after the 16th and the 32nd get, not before.
    expect(sentBefore[14]).toBe(0);
    expect(sentBefore[15]).toBe(1);
    expect(sentBefore[31]).toBe(2);
    expect(sentBefore[39]).toBe(2);
    const values = await Promise.all(reads);
    expect(values).toEqual(keys.map((_, i) => (i % 3 === 0 ? undefined : i)));
    expect(mget.mock.calls.map(([batch]) => (batch as string[]).length)).toEqual([16, 16, 8]);
    await t.clear();
    client.disconnect();
  });

  it('sends each get alone with batch: false', async () => {
    const client = new Redis(server.options());
    const t = redisTier({ client, prefix: 'nobatch:', batch: false });
    const get = vi.spyOn(client, 'getBuffer');
    await Promise.all([t.get('a'), t.get('b')]);
    expect(get).toHaveBeenCalledTimes(2);
    client.disconnect();
  });

  describe('corrupt payloads', () => {
    it('rejects get with CorruptPayloadError (code E_CORRUPT_PAYLOAD)', async () => {
      const t = tier({ prefix: 'corrupt1:' });
      await raw.set('corrupt1:bad', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      const error = await t.get('bad').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptPayloadError);
      expect(error).toMatchObject({ code: 'E_CORRUPT_PAYLOAD' });
    });

    it('rejects get of a plain JSON string written by another client', async () => {
      const t = tier({ prefix: 'corrupt2:' });
      await raw.set('corrupt2:json', '{"a":1}');
      await expect(t.get('json')).rejects.toBeInstanceOf(CorruptPayloadError);
    });

    it('returns { hit: false, error } for the corrupt key only in getMany', async () => {
      const t = tier({ prefix: 'corrupt3:' });
      await t.set('good', { ok: true }, HOUR);
      await raw.set('corrupt3:bad', 'garbage');
      const [good, bad, missing] = await t.getMany(['good', 'bad', 'missing']);
      expect(good).toEqual({ hit: true, value: { ok: true } });
      expect(bad).toMatchObject({ hit: false, error: { code: 'E_CORRUPT_PAYLOAD' } });
      expect(bad?.hit === false && bad.error).toBeInstanceOf(CorruptPayloadError);
      expect(missing).toEqual({ hit: false });
    });

    it('fails only the corrupt get of a batch', async () => {
      const t = tier({ prefix: 'corrupt4:' });
      await t.set('good', 1, HOUR);
      await raw.set('corrupt4:bad', 'garbage');
      const [good, bad] = await Promise.allSettled([t.get('good'), t.get('bad')]);
      expect(good).toEqual({ status: 'fulfilled', value: 1 });
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'E_CORRUPT_PAYLOAD' } });
    });

    it('does not count a corrupt payload as a Redis failure', async () => {
      const t = tier({ prefix: 'corrupt5:', circuitBreaker: { failureThreshold: 1 } });
      await raw.set('corrupt5:bad', 'garbage');
      for (let i = 0; i < 3; i++) await expect(t.get('bad')).rejects.toThrow(CorruptPayloadError);
      expect(t.circuitState).toBe('closed');
    });

    it('rejects get of a non-string key with L2CommandError, not a circuit failure', async () => {
      const t = tier({
        prefix: 'wrongtype:',
        batch: false,
        circuitBreaker: { failureThreshold: 1 },
      });
      await raw.rpush('wrongtype:list', 'x');
      const error = await t.get('list').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(L2CommandError);
      expect(error).toMatchObject({ code: 'E_L2_COMMAND' });
      expect(t.circuitState).toBe('closed');
    });
  });

  describe('clear()', () => {
    it('deletes only its own prefix', async () => {
      const a = tier({ prefix: 'iso-a:' });
      const b = tier({ prefix: 'iso-b:' });
      await a.set('k', 'a', HOUR);
      await b.set('k', 'b', HOUR);
      await raw.set('iso-foreign', 'x');
      await a.clear();
      expect(await a.get('k')).toBeUndefined();
      expect(await b.get('k')).toBe('b');
      expect(await raw.get('iso-foreign')).toBe('x');
      await b.clear();
      await raw.del('iso-foreign');
    });

    it('escapes glob characters of the prefix', async () => {
      const star = tier({ prefix: 'glob*:' });
      const one = tier({ prefix: 'glob1:' });
      const bracket = tier({ prefix: 'g[lo]b:' });
      const plain = tier({ prefix: 'gob:' });
      await one.set('k', 1, HOUR);
      await plain.set('k', 2, HOUR);
      await star.set('k', 3, HOUR);
      await bracket.set('k', 4, HOUR);
      await star.clear();
      await bracket.clear();
      expect(await star.get('k')).toBeUndefined();
      expect(await bracket.get('k')).toBeUndefined();
      expect(await one.get('k')).toBe(1);
      expect(await plain.get('k')).toBe(2);
    });

    it('deletes more keys than one SCAN page holds', async () => {
      const t = tier({ prefix: 'bulk:' });
      const pipeline = raw.pipeline();
      for (let i = 0; i < 5_000; i++) pipeline.set(`bulk:${i}`, 'x');
      await pipeline.exec();
      await t.clear();
      const [, left] = await raw.scan('0', 'MATCH', 'bulk:*', 'COUNT', 10_000);
      expect(left).toEqual([]);
    });
  });

  describe('checkEvictionPolicy()', () => {
    it('warns on noeviction and returns the policy', async () => {
      await using noEviction = await startRedis({
        maxmemory: '10mb',
        maxmemoryPolicy: 'noeviction',
      });
      const logger = quietLogger();
      const t = redisTier({ connection: noEviction.options(), logger });
      tiers.push(t);
      expect(await t.checkEvictionPolicy()).toBe('noeviction');
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('noeviction'), {
        policy: 'noeviction',
      });
    });

    it('does not warn on allkeys-lru', async () => {
      await using lru = await startRedis({ maxmemory: '10mb', maxmemoryPolicy: 'allkeys-lru' });
      const logger = quietLogger();
      const t = redisTier({ connection: lru.options(), logger });
      tiers.push(t);
      expect(await t.checkEvictionPolicy()).toBe('allkeys-lru');
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('warns and returns unknown when CONFIG is disabled', async () => {
      await using managed = await startRedis({ args: ['--rename-command', 'CONFIG', ''] });
      const logger = quietLogger();
      const t = redisTier({ connection: managed.options(), logger });
      tiers.push(t);
      expect(await t.checkEvictionPolicy()).toBe('unknown');
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringContaining('cannot read maxmemory-policy'),
        expect.anything(),
      );
    });

    it('checks at construction with checkEvictionPolicyOnStart', async () => {
      await using noEviction = await startRedis({ maxmemoryPolicy: 'noeviction' });
      const logger = quietLogger();
      tiers.push(
        redisTier({ connection: noEviction.options(), logger, checkEvictionPolicyOnStart: true }),
      );
      await vi.waitFor(() => {
        expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('noeviction'), {
          policy: 'noeviction',
        });
      });
    });
  });

  it('quits the client it created on close()', async () => {
    const t = redisTier({ connection: server.options() });
    await t.get('x');
    await t.close();
    expect(t.client.status).toBe('end');
  });
});
