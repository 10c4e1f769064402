// Real-server fixtures for core's integration tests (`*.int.test.ts`): a standalone
// redis-server or a Redis Cluster (3 masters + 3 replicas), RedisTier instances on their own connected
// clients (each one stands for another application instance), and CacheManagers over a real
// memory tier and a real Redis tier. Test-only: not exported from the package.
import { memoryTier } from '@tiercache/l1';
import { type RedisTier, type RedisTierOptions, redisTier } from '@tiercache/redis';
import {
  type RedisServer,
  type StartRedisClusterOptions,
  startRedis,
  startRedisCluster,
} from '@tiercache/test-servers';
import { Cluster, Redis } from 'ioredis';
import { expect, vi } from 'vitest';
import type { CacheManagerOptions } from '../options.js';
import type { CacheTier } from '../tier.js';
import { type Setup, setup } from './setup.js';

/** Which Redis the L2 paths run against. */
export type L2Kind = 'standalone' | 'cluster';

/** Every L2 kind, for `describe.each(L2_KINDS)`. */
export const L2_KINDS: readonly L2Kind[] = ['standalone', 'cluster'];

/** Client settings the redis README recommends (and `redisTier({ connection })` uses). */
const CLIENT_DEFAULTS = { enableAutoPipelining: true, maxRetriesPerRequest: 1 } as const;

/**
 * A command timeout for tests about semantics, not latency: a loaded two-core CI box can
 * stall a reply past the 250 ms default, and a spurious L2 miss would fail a "hit" check.
 */
export const RELAXED_TIMEOUT = 5_000;

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

/** Options of {@link RealRedis.manager}. */
export type RealManagerOptions = Omit<CacheManagerOptions, 'l1' | 'l2'> & {
  /** The key prefix of the Redis tier; managers sharing it share L2. */
  prefix: string;
  /** Give the manager a real memory tier as L1. @default true */
  l1?: boolean;
  /** Options of the manager's Redis tier. @default { commandTimeout: RELAXED_TIMEOUT } */
  tier?: Omit<RedisTierOptions, 'client' | 'connection' | 'prefix'>;
};

/** A manager on real tiers, with every event recorded (see {@link setup}). */
export type RealSetup = Setup<CacheTier | undefined, RedisTier> & {
  /** The tier's own client (a `Redis` or a `Cluster`). */
  readonly client: Redis | Cluster;
};

/** A running Redis (standalone or Cluster) plus factories that clean up after each test. */
export interface RealRedis {
  readonly kind: L2Kind;
  /**
   * Servers a test may kill, pause or restart: the standalone server, or the Cluster's
   * masters as the cluster formed. With `replicas: false` a killed master's slots stay down
   * until it restarts; with replicas, one that stays down past the node timeout (2 s) is
   * replaced by its replica.
   */
  readonly servers: readonly RedisServer[];
  /** A key prefix no other test of this file uses. */
  prefix(): string;
  /** Writes `value` under the full Redis key, bypassing every tier. */
  setRaw(fullKey: string, value: Buffer | string): Promise<void>;
  /** Reads the bytes under the full Redis key, bypassing every tier. */
  getRaw(fullKey: string): Promise<Buffer | null>;
  /** The server holding `fullKey` (on standalone Redis, the only one). */
  ownerOf(fullKey: string): Promise<RedisServer>;
  /**
   * Resolves once every server answers again (on a Cluster: once every master reports
   * `cluster_state:ok`), e.g. after a test restarted or resumed one. Polls for up to 20 s.
   */
  untilHealthy(): Promise<void>;
  /** A new client, connected (`ready`) before it is returned; disconnected by `cleanup`. */
  client(): Promise<Redis | Cluster>;
  /** A `CacheManager` with its own client and Redis tier: one application instance. */
  manager(options: RealManagerOptions): Promise<RealSetup>;
  /** Closes every manager and client made since the last cleanup (call in `afterEach`). */
  cleanup(): Promise<void>;
  /** Stops the servers (call in `afterAll`). */
  stop(): Promise<void>;
}

function ready(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Redis client not ready after 20 s (${client.status})`)),
      20_000,
    );
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Options of {@link startRealRedis}. */
export interface StartRealRedisOptions {
  /**
   * Cluster only: give each of the 3 masters a replica. Off for tests of a master that is
   * down with nobody to take over (failover has its own tests).
   * @default true
   */
  replicas?: boolean;
}

/**
 * Starts a standalone redis-server or a Redis Cluster of 3 masters and (by default) 3
 * replicas. The Cluster runs with `cluster-require-full-coverage no`, so that with one
 * master down the others keep serving their slots (the behaviour a cache deployment wants).
 */
export async function startRealRedis(
  kind: L2Kind,
  { replicas = true }: StartRealRedisOptions = {},
): Promise<RealRedis> {
  let servers: RedisServer[];
  let stopServers: () => Promise<void>;
  let connect: () => Redis | Cluster;
  if (kind === 'standalone') {
    const server = await startRedis();
    servers = [server];
    stopServers = () => server.stop();
    connect = () => new Redis({ ...server.options(), ...CLIENT_DEFAULTS });
  } else {
    const options: StartRedisClusterOptions = {
      masters: 3,
      replicasPerMaster: replicas ? 1 : 0,
      args: ['--cluster-require-full-coverage', 'no'],
    };
    const cluster = await startRedisCluster(options);
    servers = cluster.nodes.slice(0, 3);
    stopServers = () => cluster.stop();
    connect = () =>
      new Cluster(cluster.startupNodes, {
        enableAutoPipelining: true,
        redisOptions: { maxRetriesPerRequest: 1 },
      });
  }

  const clients = new Set<Redis | Cluster>();
  const managers = new Set<RealSetup>();
  const makeClient = async (): Promise<Redis | Cluster> => {
    const client = connect();
    // Connection errors during outages are what the tests provoke; ioredis would print them.
    client.on('error', () => {});
    clients.add(client);
    await ready(client);
    return client;
  };
  const raw = (await makeClient()) as Redis;
  clients.delete(raw);
  let nextPrefix = 0;

  return {
    kind,
    servers,
    prefix: () => `it${++nextPrefix}:`,
    async setRaw(fullKey, value) {
      await raw.set(fullKey, value);
    },
    getRaw: (fullKey) => raw.getBuffer(fullKey),
    async ownerOf(fullKey) {
      if (kind === 'standalone') return servers[0] as RedisServer;
      const slot = (await raw.cluster('KEYSLOT', fullKey)) as number;
      const ranges = await raw.cluster('SLOTS');
      const range = ranges.find(([from, to]) => from <= slot && slot <= to);
      const owner = servers.find((s) => s.port === range?.[2]?.[1]);
      if (owner === undefined) throw new Error(`no master owns slot ${slot}`);
      return owner;
    },
    async untilHealthy() {
      for (const server of servers) {
        const probe = new Redis({ ...server.options(), maxRetriesPerRequest: 0 });
        probe.on('error', () => {});
        try {
          await vi.waitFor(
            async () => {
              if (kind === 'standalone') expect(await probe.ping()).toBe('PONG');
              else expect(String(await probe.cluster('INFO'))).toContain('cluster_state:ok');
            },
            { timeout: 20_000, interval: 50 },
          );
        } finally {
          probe.disconnect();
        }
      }
    },
    client: makeClient,
    async manager({ prefix, l1 = true, tier, ...options }) {
      const client = await makeClient();
      const l2 = redisTier({
        client,
        prefix,
        commandTimeout: RELAXED_TIMEOUT,
        logger: silent,
        ...tier,
      });
      const created = {
        ...setup<CacheTier | undefined, RedisTier>({
          ...options,
          l1: l1 ? memoryTier({ max: 10_000 }) : null,
          l2,
        }),
        client,
      };
      managers.add(created);
      return created;
    },
    async cleanup() {
      const closing = [...managers].map((m) => m.cache.close());
      managers.clear();
      await Promise.all(closing);
      for (const client of clients) client.disconnect();
      clients.clear();
    },
    async stop() {
      raw.disconnect();
      await stopServers();
    },
  };
}
