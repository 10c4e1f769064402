import { type RedisClusterServer, startRedisCluster } from '@tiercache/test-servers';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisBloom } from './redis-bloom.js';

let cluster: RedisClusterServer;
let a: Cluster;
let b: Cluster;
const keys = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  a = new Cluster(cluster.startupNodes);
  b = new Cluster(cluster.startupNodes);
});

afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await cluster.stop();
});

describe('redisBloom on Redis Cluster', () => {
  it.each(['bloom:users', 'bloom:{tenant-7}:users'])(
    'shares %s between clients and rebuilds it with one RENAME',
    async (key) => {
      const writer = redisBloom({ client: a, key, expectedItems: 5000 });
      const reader = redisBloom({ client: b, key, expectedItems: 5000 });
      await writer.clear();
      await writer.addMany(keys('old', 1000));
      expect((await reader.hasMany(keys('old', 1000))).every(Boolean)).toBe(true);

      expect(await writer.rebuild(keys('new', 2000), { batchSize: 500 })).toBe(2000);
      await reader.add('added-after');

      expect((await reader.hasMany(keys('new', 2000))).every(Boolean)).toBe(true);
      expect(await reader.has('added-after')).toBe(true);
      expect((await reader.hasMany(keys('old', 1000))).filter(Boolean).length).toBeLessThan(50);
    },
  );
});
