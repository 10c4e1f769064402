import { type RedisClusterServer, startRedisCluster } from '@tiercache/test-servers';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';

let cluster: RedisClusterServer;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = new Cluster(cluster.startupNodes);
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

describe('DistributedLock on a Redis Cluster', () => {
  it('acquires, fences and releases locks whose keys live on different masters', async () => {
    const locks = new DistributedLock({ client, logger: { warn: vi.fn(), error: vi.fn() } });
    const resources = Array.from({ length: 12 }, (_, i) => `cluster-${i}`);

    for (const round of [1, 2]) {
      const held = await Promise.all(resources.map((r) => locks.acquire(r)));
      expect(held.map((l) => l.fencingToken)).toEqual(Array(resources.length).fill(round));
      expect(await Promise.all(held.map((l) => l.release()))).toEqual(
        Array(resources.length).fill(true),
      );
    }
    const masters = new Set(resources.map((r) => client.slots[slotOf(r)]?.[0]));
    expect(masters.size).toBeGreaterThan(1);
  });

  it('keeps the lock and its fencing counter in one slot even for resources with braces', async () => {
    const locks = new DistributedLock({ client, logger: { warn: vi.fn(), error: vi.fn() } });

    const lock = await locks.acquire('user:{42}:profile');

    expect(lock.fencingToken).toBe(1);
    expect(await lock.release()).toBe(true);
  });
});

/** The Cluster slot of the lock key of `resource` (CRC16 of its hash tag). */
function slotOf(resource: string): number {
  let crc = 0;
  for (const byte of Buffer.from(resource)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
