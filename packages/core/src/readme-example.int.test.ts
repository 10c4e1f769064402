import { CacheManager } from '@tiercache/core';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import {
  type RedisClusterServer,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// The README examples of @tiercache/core, @tiercache/l1 and @tiercache/redis, as written
// (imports from the package names), run against real servers: only the Redis address is
// the test server's. Between the README's lines, `expect`s check what its comments claim.
// The package typecheck (tsc) compiles this file, so the examples also type-check.

let server: RedisServer;
let log: ReturnType<typeof vi.spyOn>;
let warn: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  // The redis README's example reads the policy and expects 'allkeys-lru'.
  server = await startRedis({ maxmemoryPolicy: 'allkeys-lru' });
});
afterAll(() => server?.stop());

beforeAll(() => {
  log = vi.spyOn(console, 'log').mockImplementation(() => {});
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  log.mockClear();
  warn.mockClear();
});
afterAll(() => {
  log.mockRestore();
  warn.mockRestore();
});

describe('@tiercache/core README', () => {
  it('the example runs as written', async () => {
    const REDIS_URL = server.url;

    // Stands in for your database.
    let queries = 0;
    async function findUser(id: string, signal: AbortSignal): Promise<{ id: string } | null> {
      queries++;
      signal.throwIfAborted();
      return id === '42' ? { id } : null;
    }

    // The client settings @tiercache/redis recommends for a client you pass in.
    const redis = new Redis(REDIS_URL ?? 'redis://127.0.0.1:6379', {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
    });
    const cache = new CacheManager({
      l1: memoryTier({ max: 10_000 }),
      l2: redisTier({ client: redis }),
      ttl: 5 * 60_000, // fresh for 5 minutes (shortened by up to 10 % jitter)
      maxStale: 60_000, // then servable stale for 1 more minute while it refreshes
      hardTimeout: 2_000, // abort a loader after 2 s
    });

    cache.on('tier:error', ({ tier, operation, error }) => {
      console.warn(`cache ${tier} ${operation} failed`, error.code);
    });

    const hits: string[] = [];
    cache.on('hit', ({ tier }) => hits.push(tier));

    // Miss: loads, stores in L2 and L1. Then L1 hits. A missing user (null) is cached too,
    // for negativeTtl (1 minute by default).
    const user = await cache.get('user:42', ({ signal }) => findUser('42', signal));
    const again = await cache.get('user:42', ({ signal }) => findUser('42', signal));
    console.log(user, again);

    expect(log).toHaveBeenCalledWith({ id: '42' }, { id: '42' });
    expect(queries).toBe(1);
    expect(hits).toEqual(['l1']);
    // The default prefix is 'tc:'; the tier TTL is fresh TTL (≤ 5 min) + maxStale (1 min).
    await vi.waitFor(async () => expect(await redis.exists('tc:user:42')).toBe(1));
    const pttl = await redis.pttl('tc:user:42');
    expect(pttl).toBeGreaterThan(0.9 * 5 * 60_000 + 60_000 - 5_000);
    expect(pttl).toBeLessThanOrEqual(5 * 60_000 + 60_000);

    expect(await cache.get('user:7', ({ signal }) => findUser('7', signal))).toBeNull();
    expect(await cache.get('user:7', ({ signal }) => findUser('7', signal))).toBeNull();
    expect(queries).toBe(2);
    await vi.waitFor(async () => expect(await redis.exists('tc:user:7')).toBe(1));
    expect(await redis.pttl('tc:user:7')).toBeLessThanOrEqual(60_000 + 60_000);

    // After the database changed:
    await cache.delete('user:42');

    expect(await redis.exists('tc:user:42')).toBe(0);
    expect(await cache.get('user:42', ({ signal }) => findUser('42', signal))).toEqual({
      id: '42',
    });
    expect(queries).toBe(3);

    await cache.close(); // closes the tiers (redisTier leaves a client it was given open)

    expect(await redis.ping()).toBe('PONG');
    await expect(cache.get('user:42', () => null)).rejects.toMatchObject({
      code: 'E_CACHE_CLOSED',
    });

    await redis.quit();

    expect(warn).not.toHaveBeenCalled();
  });
});

describe('@tiercache/l1 README', () => {
  it('the example runs as written', () => {
    const l1 = memoryTier({ max: 10_000, ttl: 60_000, clone: 'freeze' });

    l1.set('user:1', { id: 1, name: 'Ada' }, 30_000); // ttl in ms; the `ttl` option when omitted
    l1.get('user:1'); // { id: 1, name: 'Ada' } (frozen), synchronously
    l1.set('flag:beta', false);
    l1.get('flag:beta'); // false: a hit, not a miss
    l1.get('nope'); // undefined: a miss

    const stop = l1.on('evict', ({ key, reason }) => console.log('evicted', key, reason));
    stop(); // unsubscribe

    const user = l1.get('user:1');
    expect(user).toEqual({ id: 1, name: 'Ada' });
    expect(Object.isFrozen(user)).toBe(true);
    expect(l1.get('flag:beta')).toBe(false);
    expect(l1.has('flag:beta')).toBe(true);
    expect(l1.get('nope')).toBeUndefined();
    expect(stop).not.toThrow();
  });

  it('the example with the core runs as written', async () => {
    const cache = new CacheManager({ l1: memoryTier(), ttl: 300_000 });

    expect(await cache.get('k', () => 0)).toBe(0);
    expect(await cache.get('k', () => 1)).toBe(0);
    await cache.close();
  });
});

describe('@tiercache/redis README', () => {
  it('the example runs as written', async () => {
    const l2 = redisTier({ connection: server.url, prefix: 'app:' });

    await l2.set('user:1', { id: 1, name: 'Ada' }, 60_000); // TTL in ms (SET PX)
    expect(await l2.get('user:1')).toEqual({ id: 1, name: 'Ada' });
    await l2.set('flag:beta', false, 60_000);
    expect(await l2.get('flag:beta')).toBe(false); // false: a hit, not a miss
    expect(await l2.get('nope')).toBeUndefined(); // undefined: a miss
    expect(await l2.getMany(['user:1', 'nope'])).toEqual([
      { hit: true, value: { id: 1, name: 'Ada' } },
      { hit: false },
    ]);
    expect(await l2.delete('user:1')).toBe(true); // true: it existed

    l2.on('circuit', (state) => console.log('L2 circuit', state)); // 'open' | 'half-open' | 'closed'
    expect(await l2.checkEvictionPolicy()).toBe('allkeys-lru'); // (warns on 'noeviction')

    const raw = l2.client as Redis;
    expect(await raw.pttl('app:flag:beta')).toBeGreaterThan(55_000);
    await l2.close(); // quits the client it created
    expect(raw.status).toBe('end');
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('the example with the core runs as written', async () => {
    const REDIS_URL: string | undefined = server.url;
    const cache = new CacheManager({
      l1: memoryTier(),
      l2: redisTier({ connection: REDIS_URL! }),
    });

    expect(await cache.get('answer', () => 42)).toBe(42);
    const other = new CacheManager({ l2: redisTier({ connection: server.url }) });
    await vi.waitFor(async () => expect(await other.get('answer', () => 0)).toBe(42));
    await cache.close();
    await other.close();
  });

  describe('with your own Cluster client', () => {
    let cluster: RedisClusterServer;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    });
    afterAll(() => cluster?.stop());

    it('the example runs as written', async () => {
      const [node] = cluster.startupNodes;
      const client = new Cluster([{ host: node?.host ?? '10.0.0.1', port: node?.port ?? 6379 }], {
        enableAutoPipelining: true,
        redisOptions: { maxRetriesPerRequest: 1 },
      });
      const l2 = redisTier({ client, prefix: 'app:' });

      const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((key) => l2.set(key, key, 60_000)));
      expect(await l2.getMany(keys)).toEqual(keys.map((key) => ({ hit: true, value: key })));
      await l2.clear();
      expect(await l2.getMany(keys)).toEqual(keys.map(() => ({ hit: false })));
      await l2.close();
      // The tier never closes a client it was given.
      expect(client.status).toBe('ready');
      await client.quit();
    });
  });
});
