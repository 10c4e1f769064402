import {
  type RedisClusterServer,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keySlot } from './key-slot.js';
import { redisTier } from './redis-tier.js';

const MINUTE = 60_000;
const RELAXED = 5_000;

let server: RedisServer;
let redis: Redis;
let cluster: RedisClusterServer;
let clusterClient: Cluster;
let nextPrefix = 0;

const quiet = () => ({ warn: vi.fn(), error: vi.fn(), debug: vi.fn() });

beforeAll(async () => {
  [server, cluster] = await Promise.all([
    startRedis(),
    startRedisCluster({ masters: 3, replicasPerMaster: 1 }),
  ]);
  redis = new Redis({ ...server.options(), enableAutoPipelining: true });
  clusterClient = new Cluster(cluster.startupNodes, { enableAutoPipelining: true });
  await new Promise<void>((resolve) => clusterClient.once('ready', resolve));
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await clusterClient?.quit();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

for (const mode of ['standalone', 'cluster'] as const) {
  const tier = (options: { versionTtl?: number } = {}) =>
    redisTier({
      client: mode === 'standalone' ? redis : clusterClient,
      prefix: `v${++nextPrefix}:`,
      commandTimeout: RELAXED,
      logger: quiet(),
      ...options,
    });

  describe(`versioned writes (${mode})`, () => {
    it('a key without a version reads as ""', async () => {
      expect(await tier().getVersions(['a', 'b'])).toEqual(['', '']);
    });

    it('setIfVersion writes while the version is unchanged', async () => {
      const l2 = tier();
      const [version] = await l2.getVersions(['k']);

      expect(await l2.setIfVersion('k', { n: 1 }, MINUTE, version!)).toBe(true);
      expect(await l2.get('k')).toEqual({ n: 1 });
    });

    it('setIfVersion refuses once the key was deleted with deleteVersioned', async () => {
      const l2 = tier();
      await l2.set('k', 'before', MINUTE);
      const [version] = await l2.getVersions(['k']);

      expect(await l2.deleteVersioned('k')).toBe(true);
      expect(await l2.setIfVersion('k', 'read before the delete', MINUTE, version!)).toBe(false);
      expect(await l2.get('k')).toBeUndefined();
      expect(await l2.deleteVersioned('k')).toBe(false);
    });

    it('setIfVersion refuses once the key was overwritten with setVersioned', async () => {
      const l2 = tier();
      const [version] = await l2.getVersions(['k']);

      await l2.setVersioned('k', 'written', MINUTE);

      expect(await l2.setIfVersion('k', 'old', MINUTE, version!)).toBe(false);
      expect(await l2.get('k')).toBe('written');
    });

    it('every delete gives a new version, also across tiers on the same Redis', async () => {
      const a = tier();
      const b = redisTier({
        client: mode === 'standalone' ? redis : clusterClient,
        prefix: a.prefix,
        commandTimeout: RELAXED,
        logger: quiet(),
      });
      await a.deleteVersioned('k');
      const [first] = await a.getVersions(['k']);
      await b.deleteVersioned('k');
      const [second] = await a.getVersions(['k']);

      expect(first).not.toBe('');
      expect(second).not.toBe(first);
    });

    it('keeps versions outside the prefix (clear and patterns never touch them), for versionTtl', async () => {
      const l2 = tier({ versionTtl: 30_000 });
      await l2.deleteVersioned('user:1');
      const [version] = await l2.getVersions(['user:1']);

      await l2.clear();
      expect(await l2.getVersions(['user:1'])).toEqual([version]);

      const client = mode === 'standalone' ? redis : clusterClient;
      const versionKey = `{${await findTag(l2.prefix, 'user:1')}}v:${l2.prefix}user:1`;
      const ttl = await client.pttl(versionKey);
      expect(ttl).toBeGreaterThan(25_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
    });

    it('works for keys in many slots, hash tags included (no CROSSSLOT)', async () => {
      const l2 = tier();
      const keys = [
        'a',
        'b',
        'user:{42}:x',
        '{}',
        'é',
        ...Array.from({ length: 50 }, (_, i) => `k${i}`),
      ];
      const versions = await l2.getVersions(keys);
      const stored = await Promise.all(
        keys.map((k, i) => l2.setIfVersion(k, i, MINUTE, versions[i]!)),
      );
      expect(stored.every(Boolean)).toBe(true);
      expect(await Promise.all(keys.map((k) => l2.deleteVersioned(k)))).toEqual(
        keys.map(() => true),
      );
    });
  });

  describe(`deleteMatching (${mode})`, () => {
    it('deletes the matching keys under the prefix only, and says how many', async () => {
      const l2 = tier();
      const other = redisTier({
        client: mode === 'standalone' ? redis : clusterClient,
        prefix: `${l2.prefix}x:`,
        commandTimeout: RELAXED,
        logger: quiet(),
      });
      await Promise.all([
        ...Array.from({ length: 300 }, (_, i) => l2.set(`user:${i}`, i, MINUTE)),
        l2.set('team:1', 1, MINUTE),
        other.set('user:1', 1, MINUTE),
      ]);

      expect(await l2.deleteMatching('user:*')).toBe(300);

      expect(await l2.get('team:1')).toBe(1);
      expect(await other.get('user:1')).toBe(1);
      expect(await l2.deleteMatching('user:*')).toBe(0);
    });

    it('treats glob characters of the prefix literally', async () => {
      const client = mode === 'standalone' ? redis : clusterClient;
      const starred = redisTier({ client, prefix: `s${++nextPrefix}*:`, logger: quiet() });
      const plain = redisTier({
        client,
        prefix: starred.prefix.replace('*', 'X'),
        logger: quiet(),
      });
      await starred.set('a', 1, MINUTE);
      await plain.set('a', 1, MINUTE);

      expect(await starred.deleteMatching('*')).toBe(1);
      expect(await plain.get('a')).toBe(1);
    });

    it('rejects an empty pattern', async () => {
      await expect(tier().deleteMatching('')).rejects.toThrow(/pattern/);
    });
  });
}

/** The hash tag the tier uses for `key`'s version: any tag in the same slot would do. */
async function findTag(prefix: string, key: string): Promise<string> {
  const slot = keySlot(prefix + key);
  for (let i = 0; ; i++) {
    const tag = i.toString(36);
    if (keySlot(tag) === slot) return tag;
  }
}
