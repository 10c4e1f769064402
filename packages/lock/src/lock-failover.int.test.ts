import {
  type RedisSentinelServer,
  type RedisServer,
  startRedis,
  startRedisSentinel,
} from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { LockNotAcquiredError } from './errors.js';

// What a lock guarantees through a failover. A single-master lock lives on one Redis whose
// replication is asynchronous: a failover can promote a replica that never saw the lock,
// and a second client then acquires it while the first still holds it. Redlock over
// independent masters keeps mutual exclusion when one of them loses its keys.

const TTL = 30_000;
const clients: Redis[] = [];
const logger = { warn: () => {}, error: () => {} };

function track(client: Redis): Redis {
  client.on('error', () => {});
  clients.push(client);
  return client;
}

afterAll(() => {
  for (const client of clients) client.disconnect();
});

describe('a single-master lock through a Sentinel failover', { timeout: 120_000 }, () => {
  let group: RedisSentinelServer;
  beforeAll(async () => {
    group = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  }, 120_000);
  afterAll(() => group?.stop());

  function locks(): DistributedLock {
    const client = track(
      new Redis({ sentinels: group.sentinels, name: group.name, maxRetriesPerRequest: 1 }),
    );
    return new DistributedLock({ client, ttl: TTL, autoExtend: false, logger });
  }

  it('is lost when the master dies before replicating it: two holders at once', async () => {
    const a = locks();
    const master = group.master;
    const [replica] = group.replicas as [RedisServer];
    const direct = track(new Redis(master.options()));
    // A fencing counter that existed (and replicated) before the failover.
    const earlier = await a.acquire('earlier');
    await earlier.release();
    expect(await direct.wait(1, 5_000)).toBe(1);

    // Hold back replication the way a slow link or a busy replica does: the replica stops
    // reading, and 32 MB of other writes fill the socket buffers, so the lock's SET stays
    // in the master's output buffer. The replica resumes on its own after 1.5 s.
    replica.pause(1_500);
    const junk = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 32; i++) await direct.set(`junk:${i}`, junk);
    const first = await a.acquire('orders:42');
    const result = await group.failover();
    expect(result.promoted).toBe(replica);

    const b = locks();
    const second = await b.acquire('orders:42', {
      retry: { retries: 20, baseDelay: 100, factor: 1 },
    });
    const overlapMs = first.expiresAt - Date.now();
    console.info(
      `[scale] ${JSON.stringify({
        test: 'lock, Sentinel failover before replication',
        failoverMs: result.ms,
        secondAcquiredWhileFirstValidForMs: overlapMs,
        firstFence: first.fencingToken,
        secondFence: second.fencingToken,
      })}`,
    );
    // Mutual exclusion is gone: the first lock is still valid by its own clock.
    expect(overlapMs).toBeGreaterThan(0);
    expect(second.token).not.toBe(first.token);
    // The fencing counter was lost with it: the second holder gets a token that does not
    // exceed the first's, so a store checking fencing tokens cannot tell the two apart.
    expect(second.fencingToken).toBeLessThanOrEqual(first.fencingToken);
    await second.release();
  });
});

describe('Redlock over 3 independent masters', { timeout: 120_000 }, () => {
  let servers: RedisServer[];
  beforeAll(async () => {
    servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
  });
  afterAll(() => Promise.all(servers.map((s) => s.stop())));

  function redlock(): DistributedLock {
    const client = servers.map((s) =>
      track(new Redis({ ...s.options(), maxRetriesPerRequest: 1 })),
    );
    return new DistributedLock({
      client,
      ttl: TTL,
      autoExtend: false,
      commandTimeout: 200,
      logger,
    });
  }

  it('keeps mutual exclusion when one master loses the lock (killed, back empty)', async () => {
    const a = redlock();
    const first = await a.acquire('orders:42');
    // One instance fails and comes back without the key, as a failover to a replica that
    // never saw the write would.
    const [lost] = servers as [RedisServer];
    await lost.kill();
    await lost.restart();
    const b = redlock();
    expect(await track(new Redis(lost.options())).dbsize()).toBe(0);

    await expect(
      b.acquire('orders:42', { retry: { retries: 3, baseDelay: 50, factor: 1 } }),
    ).rejects.toThrow(LockNotAcquiredError);
    expect(first.expiresAt).toBeGreaterThan(Date.now());
    // After the first holder releases, the second gets it, with a larger fencing token.
    await first.release();
    const second = await b.acquire('orders:42');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });
});
