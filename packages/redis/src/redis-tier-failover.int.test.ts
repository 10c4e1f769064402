import {
  type RedisClusterServer,
  type RedisSentinelServer,
  type RedisServer,
  startRedisCluster,
  startRedisSentinel,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisTier } from './redis-tier.js';
import { redisWriteBehind } from './write-behind.js';

// The Redis tier and the write-behind queue through a real failover: a Sentinel group
// (master + 1 replica + 3 sentinels) and a Cluster of 3 masters + 3 replicas. Figures are
// printed as `[scale]` JSON lines for RELIABILITY.md.

const COMMAND_TIMEOUT = 250;
const MARGIN = 750;
const HOUR = 3_600_000;
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

const clients: Array<Redis | Cluster> = [];
function track<T extends Redis | Cluster>(client: T): T {
  client.on('error', () => {});
  clients.push(client);
  return client;
}
function ready(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}
function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

afterAll(() => {
  for (const client of clients) client.disconnect();
});

describe('redisTier on Sentinel through a failover', { timeout: 120_000 }, () => {
  let group: RedisSentinelServer;
  beforeAll(async () => {
    group = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  }, 120_000);
  afterAll(() => group?.stop());

  it('reads fail fast during the failover and resume on the promoted replica', async () => {
    const client = track(
      new Redis({ sentinels: group.sentinels, name: group.name, maxRetriesPerRequest: 1 }),
    );
    await ready(client);
    const tier = redisTier({
      client,
      prefix: 's:',
      commandTimeout: COMMAND_TIMEOUT,
      // A short reset so the circuit probes soon after the new master is up.
      circuitBreaker: { failureThreshold: 5, resetTimeout: 500 },
      logger: silent,
    });
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const key of keys) await tier.set(key, `v ${key}`, HOUR);
    const direct = track(new Redis(group.master.options()));
    expect(await direct.wait(1, 5_000)).toBe(1);

    const samples: Array<{ start: number; end: number; hit: boolean; code?: string }> = [];
    let stop = false;
    const reader = (async () => {
      for (let i = 0; !stop; i++) {
        const key = keys[i % keys.length] as string;
        const start = performance.now();
        try {
          const value = await tier.get(key);
          samples.push({ start, end: performance.now(), hit: value === `v ${key}` });
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          samples.push({ start, end: performance.now(), hit: false, code });
        }
        await yieldNow();
      }
    })();
    await vi.waitFor(() => expect(samples.length).toBeGreaterThan(50));
    const killedAt = performance.now();
    let failoverMs = 0;
    try {
      failoverMs = (await group.failover()).ms;
      await vi.waitFor(
        () => expect(samples.filter((s) => s.start > killedAt && s.hit).length).toBeGreaterThan(50),
        { timeout: 20_000, interval: 20 },
      );
    } finally {
      stop = true;
      await reader;
    }

    const after = samples.filter((s) => s.end >= killedAt);
    const failed = after.filter((s) => !s.hit);
    const firstFail = failed[0]?.start ?? killedAt;
    const firstHitAfter = after.find((s) => s.hit && s.start > (failed.at(-1)?.start ?? 0));
    const slowest = after.reduce((max, s) => Math.max(max, s.end - s.start), 0);
    const codes = failed.reduce<Record<string, number>>((acc, s) => {
      acc[s.code ?? 'miss'] = (acc[s.code ?? 'miss'] ?? 0) + 1;
      return acc;
    }, {});
    console.info(
      `[scale] ${JSON.stringify({
        test: 'redis tier, Sentinel failover',
        failoverMs,
        readsAfterKill: after.length,
        failedReads: failed.length,
        codes,
        slowestReadMs: Math.round(slowest),
        readsFailForMs: Math.round((failed.at(-1)?.end ?? firstFail) - firstFail),
        hitsResumeAfterKillMs: Math.round((firstHitAfter?.start ?? 0) - killedAt),
      })}`,
    );
    // No read waits much past the command timeout, every failure is a typed outage (never
    // a wrong value or a silent miss: the replica had every key), and hits resume.
    expect(slowest).toBeLessThan(COMMAND_TIMEOUT + MARGIN);
    for (const code of Object.keys(codes)) {
      expect(['E_L2_UNAVAILABLE', 'E_L2_TIMEOUT', 'E_CIRCUIT_OPEN']).toContain(code);
    }
    expect(firstHitAfter).toBeDefined();
    // Writes land on the new master.
    await tier.set('after', 'written', HOUR);
    const promoted = track(new Redis(group.master.options()));
    expect(await promoted.exists('s:after')).toBe(1);
    await tier.close();
  });
});

describe('redisWriteBehind on a Cluster through a failover', { timeout: 120_000 }, () => {
  let cluster: RedisClusterServer;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('applies every write acknowledged after the failover; reports those lost before it', async () => {
    const client = track(
      new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } }),
    );
    await ready(client);
    const stream = 'wb:{failover}';
    const slot = (await client.cluster('KEYSLOT', stream)) as number;
    const ranges = await client.cluster('SLOTS');
    const ownerPort = ranges.find(([from, to]) => from <= slot && slot <= to)?.[2]?.[1];
    const victim = (await cluster.masters()).find((n) => n.port === ownerPort) as RedisServer;
    expect(victim).toBeDefined();

    const applied = new Map<string, number>();
    const worker = redisWriteBehind<number>({
      client,
      stream,
      consumer: 'w1',
      claimIdleMs: 2_000,
      blockMs: 200,
      backoff: { baseDelay: 20, maxDelay: 200 },
      logger: silent,
      apply: ({ key }) => {
        applied.set(key, (applied.get(key) ?? 0) + 1);
      },
    });
    await worker.start();

    const acked: Array<{ key: string; at: number }> = [];
    let refused = 0;
    let stop = false;
    const producer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await worker.enqueue(`w${i}`, i);
          acked.push({ key: `w${i}`, at: performance.now() });
        } catch {
          refused += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(100));
    const killedAt = performance.now();
    let failoverMs = 0;
    let promotedAt = 0;
    try {
      failoverMs = (await cluster.failover(victim)).ms;
      promotedAt = performance.now();
      await vi.waitFor(
        () => expect(acked.filter((a) => a.at > promotedAt).length).toBeGreaterThan(100),
        { timeout: 20_000 },
      );
    } finally {
      stop = true;
      await producer;
    }

    // Every write acknowledged after the promotion is applied (the worker reconnects).
    const afterPromotion = acked.filter((a) => a.at > promotedAt);
    await vi.waitFor(() => expect(afterPromotion.filter((a) => !applied.has(a.key))).toEqual([]), {
      timeout: 20_000,
      interval: 50,
    });
    const lost = acked.filter((a) => !applied.has(a.key));
    const duplicates = [...applied.values()].filter((n) => n > 1).length;
    console.info(
      `[scale] ${JSON.stringify({
        test: 'write-behind, Cluster failover of the stream master',
        failoverMs,
        acknowledged: acked.length,
        acknowledgedBeforeKill: acked.filter((a) => a.at <= killedAt).length,
        refusedDuringFailover: refused,
        lostAcknowledged: lost.length,
        lostAckedWithinMsOfKill: lost.map((a) => Math.round(killedAt - a.at)),
        appliedTwice: duplicates,
      })}`,
    );
    // A lost write can only be one acknowledged by the old master just before it died and
    // not yet replicated (replication is asynchronous).
    for (const a of lost) expect(a.at).toBeLessThanOrEqual(killedAt);
    await worker.stop();
  });
});
