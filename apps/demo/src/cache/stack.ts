import { type BloomGuard, bloomGuard, type RedisBloom, redisBloom } from '@tiercache/bloom';
import { CacheManager } from '@tiercache/core';
import { type RedisBus, redisBus, redisTagVersions } from '@tiercache/invalidation';
import { globMatcher } from '@tiercache/keys';
import { type MemoryTier, memoryTier } from '@tiercache/l1';
import { DistributedLock } from '@tiercache/lock';
import {
  CacheAnalyzer,
  CacheMetrics,
  LatencyHistogram,
  RedisMemoryMonitor,
} from '@tiercache/metrics';
import { type RedisTier, redisTier } from '@tiercache/redis';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/** Sizing of the shared agent-id filter: every instance must use the same. */
export const BLOOM_KEY = 'bloom:agents';
export const BLOOM_EXPECTED_ITEMS = 1_000_000;

/** Operation names for the analyzer, by the first segment of a key. */
const OPERATIONS: Record<string, string> = {
  agent: 'GET_AGENT',
  stats: 'GET_AGENT_STATS',
  leaderboard: 'GET_LEADERBOARD',
  tasks: 'GET_TASKS',
  task: 'GET_TASK',
  session: 'GET_SESSION',
  query: 'HOT_QUERY',
};

/** Everything cache-related in one instance: tiers, manager, metrics, filter, locks. */
export interface CacheStack {
  readonly l1: MemoryTier;
  readonly l2: RedisTier;
  readonly cache: CacheManager;
  /** Carries every invalidation to the other instances' L1 (Redis pub/sub). */
  readonly bus: RedisBus;
  readonly metrics: CacheMetrics;
  readonly analyzer: CacheAnalyzer;
  /** Request latency of `/api/*` routes, for the dashboard. */
  readonly httpLatency: LatencyHistogram;
  readonly agentIds: RedisBloom;
  readonly guard: BloomGuard;
  /** Leaderboard recomputes (fencing on). */
  readonly locks: DistributedLock;
  readonly memory: RedisMemoryMonitor;
  /** Stops the monitor, closes the manager (and its tiers) and the bus; not the Redis client. */
  close(): Promise<void>;
}

/** Options of {@link createCacheStack}. */
export interface CacheStackOptions {
  /** The instance's ioredis client (shared by L2, the filter, the locks and the monitor). */
  readonly redis: Redis;
  readonly log: Logger;
  /** @default 10_000 (the guide's L1 is 1000 items and 50 MB: see the README) */
  readonly l1Max?: number;
  /** @default 5000 */
  readonly memoryInterval?: number;
  /**
   * Stampede protection across processes (core's `locker`): worth it with several instances.
   * @default false
   */
  readonly stampedeLock?: boolean;
  /**
   * The pub/sub channel of the invalidation bus: the same for every instance of one demo.
   * @default 'updates:tiercache-demo'
   */
  readonly channel?: string;
}

/**
 * Wires the tiercache packages the way the guide's architecture describes: L1 (lru-cache, 1000
 * items, 50 MB) → L2 (Redis) → PostgreSQL through `CacheManager`, with metrics fed by its
 * events, a shared Bloom filter of agent ids, distributed locks for stampedes and for the
 * leaderboard recompute, and the Redis memory monitor.
 */
export function createCacheStack(options: CacheStackOptions): CacheStack {
  const { redis, log } = options;
  const l1 = memoryTier({ max: options.l1Max ?? 10_000, maxSize: 50 * 1024 * 1024 });
  // versionTtl above hardTimeout, as @tiercache/invalidation asks for versioned writes.
  const l2 = redisTier({ client: redis, prefix: 'tc:', logger: log, versionTtl: 60_000 });
  const analyzer = new CacheAnalyzer({
    classify: (key) => {
      const i = key.indexOf(':');
      return OPERATIONS[i === -1 ? key : key.slice(0, i)] ?? 'other';
    },
  });
  const metrics = new CacheMetrics({ l1Tier: l1, l2Tier: l2, analyzer });
  const bus = redisBus({
    client: redis,
    channel: options.channel ?? 'updates:tiercache-demo',
    metrics,
    logger: log,
  });
  const cache = new CacheManager({
    l1,
    l2,
    logger: log,
    // Every invalidation reaches the other instances' L1; theirs reach this one.
    bus,
    tagVersions: redisTagVersions({ client: redis, prefix: 'tc:tag:' }),
    matchPattern: globMatcher,
    // A load that read the database before an invalidation never writes its value after it.
    versionedWrites: true,
    // A miss that many instances share loads once: the others wait for the value in L2.
    locker: new DistributedLock({
      client: redis,
      prefix: 'stampede:',
      fencing: false,
      logger: log,
    }),
    // Never let a stuck query hold a request forever.
    hardTimeout: 10_000,
    // On by default (every second, and when the L2 circuit closes; at most 10_000 keys): an
    // invalidation whose L2 delete failed (Redis down or hung, the circuit open) would leave
    // the old value in L2 for every instance to read back until its TTL (the chaos suite
    // measured minutes of stale reads after a 5 s Redis pause).
    redoFailedDeletes: { interval: 1_000, maxKeys: 10_000 },
  });
  metrics.attach(cache);
  // Overflows are logged by core at error level; redone deletes are worth a line too.
  cache.on('redo:done', ({ deleted, republished, pending }) =>
    log.info('L2 deletes that had failed were done again', {
      keys: deleted.length,
      republished: republished.length,
      pending,
    }),
  );
  const agentIds = redisBloom({
    client: redis,
    key: BLOOM_KEY,
    expectedItems: BLOOM_EXPECTED_ITEMS,
  });
  const guard = bloomGuard({
    filter: agentIds,
    onError: (error) => log.warn('bloom filter unavailable, failing open', { error }),
  });
  const locks = new DistributedLock({ client: redis, ttl: 30_000, logger: log });
  const memory = new RedisMemoryMonitor({
    client: redis,
    interval: options.memoryInterval ?? 5_000,
  });
  memory.on('warning', (s) => log.warn('Redis memory high', { usageRatio: s.usageRatio }));
  memory.on('evictions', (s) => log.warn('Redis evicted keys', { evicted: s.evictedDelta }));
  memory.on('error', (error) => log.debug('memory check failed', { error }));
  return {
    l1,
    l2,
    cache,
    bus,
    metrics,
    analyzer,
    httpLatency: new LatencyHistogram(),
    agentIds,
    guard,
    locks,
    memory,
    async close() {
      memory.stop();
      metrics.detach();
      await cache.close();
      await bus.close();
    },
  };
}
