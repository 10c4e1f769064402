import { type RedisTierOptions, redisTier } from '@tiercache/redis';
import {
  type ClusterFailover,
  type RedisClusterServer,
  type RedisServer,
  startRedisCluster,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CacheManager } from './cache-manager.js';
import { setup } from './test-support/setup.js';

// A CacheManager reads steadily through a Redis tier on a Cluster of 3 masters + 3 replicas
// while one master is killed (SIGKILL) and its replica is promoted. What must hold: every
// get answers (from L2, or from the loader while the master's slots are down), none waits
// much longer than the tier's commandTimeout, and L2 hits on the killed master's slots
// resume once the replica serves them; a write after the failover lands on the new master.
//
// Figures (failover time, loader answers, slowest get, time until L2 hits resume) are
// printed as one `[scale]` JSON line for RELIABILITY.md.

const COMMAND_TIMEOUT = 250;
/** Scheduling slack on a loaded two-core CI box. */
const MARGIN = 750;
const READERS = 4;
const KEYS_PER_READER = 30;
/** How long after promotion L2 must serve the killed master's keys again. */
const RECOVERY = 15_000;

const TIER: Omit<RedisTierOptions, 'client' | 'connection'> = {
  commandTimeout: COMMAND_TIMEOUT,
  logger: { warn: () => {}, error: () => {}, debug: () => {} },
};

let cluster: RedisClusterServer;
const clients: Cluster[] = [];
const killed = new Set<RedisServer>();

async function connect(): Promise<Cluster> {
  const client = new Cluster(cluster.startupNodes, {
    enableAutoPipelining: true,
    redisOptions: { maxRetriesPerRequest: 1 },
  });
  client.on('error', () => {});
  clients.push(client);
  await new Promise<void>((resolve) => client.once('ready', resolve));
  return client;
}

async function ownerOf(client: Cluster, key: string): Promise<number | undefined> {
  const slot = (await client.cluster('KEYSLOT', key)) as number;
  const ranges = await client.cluster('SLOTS');
  return ranges.find(([from, to]) => from <= slot && slot <= to)?.[2]?.[1];
}

async function manager(prefix: string, tier: Partial<RedisTierOptions> = {}) {
  return setup({
    l1: null,
    l2: redisTier({ client: await connect(), prefix, ...TIER, ...tier }),
  });
}

interface Sample {
  key: string;
  onVictim: boolean;
  start: number;
  end: number;
  fromLoader: boolean;
  value?: unknown;
  error?: unknown;
}

beforeAll(async () => {
  cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    // Other masters keep serving while one is down, as a cache deployment wants.
    args: ['--cluster-require-full-coverage', 'no'],
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

// On a Cluster the tier keeps one circuit per master: while the dead master's reads time
// out, only its circuit opens, so keys of the healthy masters keep hitting L2 (with a single
// tier-wide circuit they all went to the loader until it closed: 20k–45k extra loads in
// this test). With the breaker off, only the dead master's keys pay the commandTimeout on
// every read. Each case fails over a different master of the same cluster.
const CASES = [
  { name: 'default circuit breaker', tier: {} },
  { name: 'circuit breaker off', tier: { circuitBreaker: false as const } },
];

describe('CacheManager on a Cluster while a master fails over', { timeout: 120_000 }, () => {
  it.each(CASES)(
    'answers every get; L2 hits resume on the promoted replica ($name)',
    async ({ name, tier }) => {
      const prefix = `fo-${name.replaceAll(' ', '-')}:`;
      const m = await manager(prefix, tier);
      const probe = await connect();
      // A master that has never failed over (the previous case's victim is still down).
      const [victim] = (await cluster.masters()).filter((node) => !killed.has(node)) as [
        RedisServer,
      ];
      killed.add(victim);
      const keys = Array.from({ length: READERS * KEYS_PER_READER }, (_, i) => `k${i}`);
      const onVictim = new Set<string>();
      for (const key of keys) {
        if ((await ownerOf(probe, prefix + key)) === victim.port) onVictim.add(key);
        await m.cache.set(key, `cached ${key}`);
      }
      expect(onVictim.size).toBeGreaterThan(10);
      expect(onVictim.size).toBeLessThan(keys.length);
      // Replication is asynchronous: make sure the replica has the keys before the kill.
      const direct = new Redis(victim.options());
      expect(await direct.wait(1, 5_000)).toBe(1);
      direct.disconnect();

      const samples: Sample[] = [];
      let stop = false;
      let killedAt = 0;
      let failover: ClusterFailover | undefined;
      let promotedAt = 0;

      // Each reader owns its keys, so no get joins another's in-flight load.
      const read = async (mine: string[]): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const key = mine[i % mine.length] as string;
          const sample: Sample = {
            key,
            onVictim: onVictim.has(key),
            start: performance.now(),
            end: 0,
            fromLoader: false,
          };
          try {
            sample.value = await m.cache.get(key, () => {
              sample.fromLoader = true;
              return `loaded ${key}`;
            });
          } catch (error) {
            sample.error = error;
          }
          sample.end = performance.now();
          samples.push(sample);
          // An open circuit answers without I/O: yield, or this loop starves the event loop.
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const readers = Array.from({ length: READERS }, (_, r) =>
        read(keys.slice(r * KEYS_PER_READER, (r + 1) * KEYS_PER_READER)),
      );

      // Steady state first: at least one L2 hit per reader.
      await vi.waitFor(() => expect(samples.length).toBeGreaterThan(READERS * 10), {
        timeout: 10_000,
      });
      killedAt = performance.now();
      try {
        failover = await cluster.failover(victim);
        promotedAt = performance.now();
        // Keep reading until a victim key is an L2 hit again, read after the promotion.
        await vi.waitFor(
          () =>
            expect(
              samples.some((s) => s.onVictim && s.start > promotedAt && !s.fromLoader && !s.error),
            ).toBe(true),
          { timeout: RECOVERY, interval: 20 },
        );
      } finally {
        stop = true;
        await Promise.all(readers);
      }

      const failed = samples.filter((s) => s.error !== undefined);
      const during = samples.filter((s) => s.end >= killedAt);
      const slowest = during.reduce((max, s) => Math.max(max, s.end - s.start), 0);
      const healthyLoads = samples.filter((s) => !s.onVictim && s.fromLoader);
      const firstHit = samples.find(
        (s) => s.onVictim && s.start > killedAt && !s.fromLoader && s.end > promotedAt,
      );
      const victimReads = during.filter((s) => s.onVictim);
      const report = {
        test: `core cluster failover, ${name}`,
        failoverMs: failover?.ms,
        gets: samples.length,
        failedGets: failed.length,
        victimReadsAfterKill: victimReads.length,
        victimLoaderAnswers: victimReads.filter((s) => s.fromLoader).length,
        healthyLoaderAnswers: healthyLoads.length,
        slowestGetMs: Math.round(slowest),
        l2HitsResumeAfterKillMs: Math.round((firstHit?.start ?? 0) - killedAt),
        l2HitsResumeAfterPromotionMs: Math.max(0, Math.round((firstHit?.start ?? 0) - promotedAt)),
        tierErrors: m.of('tier:error').reduce<Record<string, number>>((acc, e) => {
          const code = e.error.code ?? e.error.name;
          acc[code] = (acc[code] ?? 0) + 1;
          return acc;
        }, {}),
      };
      console.info(`[scale] ${JSON.stringify(report)}`);

      expect(failed.map((s) => String(s.error))).toEqual([]);
      for (const s of samples) expect([`cached ${s.key}`, `loaded ${s.key}`]).toContain(s.value);
      expect(slowest).toBeLessThan(COMMAND_TIMEOUT + MARGIN);
      // A dead master's redirections are outages now, never E_L2_COMMAND.
      expect(m.of('tier:error').filter((e) => e.error.code === 'E_L2_COMMAND')).toEqual([]);
      // Keys of the healthy masters never failed as unavailable, and never met an open
      // circuit: the dead master's circuit is its own.
      const healthyErrors = m.of('tier:error').filter((e) => !onVictim.has(e.key ?? ''));
      expect(healthyErrors.filter((e) => e.error.code === 'E_L2_UNAVAILABLE')).toEqual([]);
      expect(healthyErrors.filter((e) => e.error.code === 'E_CIRCUIT_OPEN')).toEqual([]);
      // (A loaded two-core box can still time out the odd healthy read: allow 5 %.)
      const healthyReads = during.filter((s) => !s.onVictim).length;
      expect(healthyLoads.length).toBeLessThan(healthyReads * 0.05);
      expect(firstHit).toBeDefined();

      // A write after the failover lands on the promoted master, and another instance reads it.
      const victimKey = [...onVictim][0] as string;
      await m.cache.set(victimKey, `after ${victimKey}`);
      const other = await manager(prefix);
      const nothing = vi.fn(() => undefined);
      expect(await other.cache.get(victimKey, nothing)).toBe(`after ${victimKey}`);
      expect(nothing).not.toHaveBeenCalled();
      expect(await ownerOf(probe, prefix + victimKey)).toBe(failover?.promoted.port);
      await closeAll(m.cache, other.cache);
    },
  );
});

async function closeAll(...caches: CacheManager[]): Promise<void> {
  await Promise.all(caches.map((c) => c.close()));
}
