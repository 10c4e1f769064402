import { CorruptPayloadError } from '@tiercache/compression';
import { type RedisClusterServer, startRedisCluster } from '@tiercache/test-servers';
import { runTierConformance } from '@tiercache/test-utils';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisTier } from './redis-tier.js';

const HOUR = 3_600_000;
// Conformance checks semantics, not latency (see redis-tier.int.test.ts).
const RELAXED = 5_000;

let cluster: RedisClusterServer;
let client: Cluster;
let nextPrefix = 0;

function clusterTier(prefix = `c${++nextPrefix}:`) {
  return redisTier({
    client,
    prefix,
    commandTimeout: RELAXED,
    logger: { warn: vi.fn(), error: vi.fn(), debug: vi.fn() },
  });
}

/** How many keys matching `pattern` each master holds. */
async function keysPerMaster(pattern: string): Promise<number[]> {
  return Promise.all(
    client.nodes('master').map(async (node) => {
      let cursor = '0';
      let count = 0;
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
        cursor = next;
        count += keys.length;
      } while (cursor !== '0');
      return count;
    }),
  );
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = new Cluster(cluster.startupNodes, { enableAutoPipelining: true });
  await new Promise<void>((resolve) => client.once('ready', resolve));
});

afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

runTierConformance('redisTier (Cluster: 3 masters + 3 replicas)', async () => ({
  tier: clusterTier(),
}));

describe('redisTier on a Redis Cluster', () => {
  it('spreads keys over every master and reads them back with getMany', async () => {
    const t = clusterTier('spread:');
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => t.set(k, k, HOUR)));
    const perMaster = await keysPerMaster('spread:*');
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((n) => n > 0)).toBe(true);
    const results = await t.getMany(keys);
    expect(results).toEqual(keys.map((k) => ({ hit: true, value: k })));
    await t.clear();
  });

  it('clear() deletes its prefix on every master and leaves other prefixes alone', async () => {
    const a = clusterTier('iso-a:');
    const b = clusterTier('iso-b:');
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await Promise.all(keys.flatMap((k) => [a.set(k, 'a', HOUR), b.set(k, 'b', HOUR)]));
    await client.set('iso-foreign', 'x');

    await a.clear();

    expect(await keysPerMaster('iso-a:*')).toEqual([0, 0, 0]);
    expect((await keysPerMaster('iso-b:*')).reduce((x, y) => x + y, 0)).toBe(300);
    expect((await b.getMany(keys)).every((r) => r.hit)).toBe(true);
    expect(await client.get('iso-foreign')).toBe('x');
    await b.clear();
    await client.del('iso-foreign');
  });

  it('returns { hit: false, error } for a corrupt key in getMany across slots', async () => {
    const t = clusterTier('corrupt:');
    await t.set('good', 1, HOUR);
    await client.set('corrupt:bad', 'garbage');
    const [good, bad, missing] = await t.getMany(['good', 'bad', 'missing']);
    expect(good).toEqual({ hit: true, value: 1 });
    expect(bad?.hit === false && bad.error).toBeInstanceOf(CorruptPayloadError);
    expect(missing).toEqual({ hit: false });
    await expect(t.get('bad')).rejects.toMatchObject({ code: 'E_CORRUPT_PAYLOAD' });
    await t.clear();
  });

  it('reads maxmemory-policy from every master', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    const t = redisTier({ client, logger });
    // The test cluster runs with the server default, noeviction.
    expect(await t.checkEvictionPolicy()).toBe('noeviction');
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('waits for a Cluster client that is still connecting before clear()', async () => {
    const fresh = new Cluster(cluster.startupNodes, { enableAutoPipelining: true });
    const t = redisTier({ client: fresh, prefix: 'fresh:', commandTimeout: RELAXED });
    await clusterTier('fresh:').set('k', 1, HOUR);
    await t.clear();
    expect(await t.get('k')).toBeUndefined();
    await fresh.quit();
  });
});
