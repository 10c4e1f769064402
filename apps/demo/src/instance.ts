import { RebuildConflictError } from '@tiercache/bloom';
import type { RefreshScheduler } from '@tiercache/core';
import { prometheusExporter } from '@tiercache/metrics/prometheus';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createInvalidations, type Invalidations } from './cache/invalidation.js';
import { type CacheStack, createCacheStack } from './cache/stack.js';
import { PERIODS, Repository } from './db/repository.js';
import { buildApp } from './http/app.js';
import { Leaderboards } from './leaderboard.js';
import type { Logger } from './log.js';
import { DemoService } from './service.js';
import { createRefreshScheduler, warmCache } from './warming.js';

/** Options of {@link createInstance}. */
export interface InstanceOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Shown in logs, on the dashboard and as `x-instance`. */
  readonly name: string;
  readonly log: Logger;
  /** @default false */
  readonly cacheDisabled?: boolean;
  /** @default 10_000 */
  readonly l1Max?: number;
  /** Stampede protection across processes (core's `locker`). @default false */
  readonly stampedeLock?: boolean;
  /** @default 5000 */
  readonly memoryInterval?: number;
  /** @default 20 */
  readonly poolSize?: number;
  /** Collect Node's default Prometheus metrics (heap, event loop lag, …). @default true */
  readonly processMetrics?: boolean;
}

/** Options of {@link Instance.start}. */
export interface StartOptions {
  /** Rebuild the shared Bloom filter of agent ids from PostgreSQL. @default true */
  readonly rebuildBloom?: boolean;
  /** Run the guide's startup warming. @default true */
  readonly warm?: boolean;
  /** Start the periodic refresh (leaderboards, recent activity). @default true */
  readonly refresh?: boolean;
}

/** One API process's worth of the demo: clients, cache stack, service and HTTP app. */
export interface Instance {
  readonly name: string;
  readonly app: FastifyInstance;
  readonly service: DemoService;
  readonly stack: CacheStack;
  readonly repo: Repository;
  readonly pool: pg.Pool;
  readonly redis: Redis;
  readonly leaderboards: Leaderboards;
  readonly invalidations: Invalidations;
  /** Filter rebuild, fencing counters, warming, refresh and memory monitor, as configured. */
  start(options?: StartOptions): Promise<void>;
  /** Listens on `port` (0 = any free) and resolves to the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Graceful: scheduler, HTTP server, cache and tiers, Redis, the pool. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds one instance against an existing PostgreSQL (migrated and seeded) and Redis. Nothing
 * runs in the background until {@link Instance.start}.
 */
export function createInstance(options: InstanceOptions): Instance {
  const { log, name } = options;
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 20,
    application_name: `tiercache-demo:${name}`,
  });
  pool.on('error', (error) => {
    // 57P01 admin_shutdown: the server is stopping (e.g. the embedded one on Ctrl-C).
    if ((error as { code?: string }).code === '57P01') log.debug('PostgreSQL is shutting down');
    else log.warn('idle PostgreSQL client failed', { error });
  });
  const redis = new Redis(options.redisUrl, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectionName: `tiercache-demo:${name}`,
  });
  redis.on('error', (error) => log.debug('redis connection error', { error }));
  const repo = new Repository(pool);
  const stack = createCacheStack({
    redis,
    log,
    l1Max: options.l1Max ?? 10_000,
    stampedeLock: options.stampedeLock ?? false,
    memoryInterval: options.memoryInterval ?? 5_000,
  });
  const invalidations = createInvalidations(stack.cache);
  const leaderboards = new Leaderboards({
    redis,
    repo,
    locks: stack.locks,
    invalidations,
    log,
  });
  const service = new DemoService({ repo, stack, leaderboards, invalidations, log });
  const registry = new Registry();
  const exporter = prometheusExporter({
    metrics: stack.metrics,
    analyzer: stack.analyzer,
    registry,
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const cacheDisabled = options.cacheDisabled ?? false;
  const app = buildApp({
    service,
    stack,
    pool,
    redis,
    registry,
    instance: name,
    cacheDisabled,
    log,
  });
  let scheduler: RefreshScheduler | undefined;
  let closing: Promise<void> | undefined;

  async function rebuildBloom(): Promise<void> {
    async function* ids() {
      let after: string | null = null;
      for (;;) {
        const page = await repo.agentIds(after, 10_000);
        if (page.length === 0) return;
        yield* page;
        after = page.at(-1) ?? null;
      }
    }
    const t0 = performance.now();
    try {
      const count = await stack.agentIds.rebuild(ids(), { batchSize: 10_000 });
      log.info('bloom filter of agent ids rebuilt from PostgreSQL', {
        ids: count,
        ms: Math.round(performance.now() - t0),
      });
    } catch (error) {
      if (error instanceof RebuildConflictError) {
        log.info('bloom filter is being rebuilt by another instance');
      } else {
        log.warn('bloom filter rebuild failed; lookups fail open', { error });
      }
    }
  }

  return {
    name,
    app,
    service,
    stack,
    repo,
    pool,
    redis,
    leaderboards,
    invalidations,
    async start(start = {}) {
      // Subscribed before serving: an invalidation published earlier is already in L2, and
      // this L1 is empty.
      await stack.bus.ready();
      stack.memory.start();
      await stack.l2.checkEvictionPolicy();
      for (const period of PERIODS) await leaderboards.syncFencingToken(period);
      if (cacheDisabled) {
        log.info('cache disabled: every read goes to PostgreSQL');
        return;
      }
      if (start.rebuildBloom ?? true) await rebuildBloom();
      if (start.warm ?? true) {
        await warmCache({ stack, repo, leaderboards, log });
        // Warming filled L1 far past its size: those evictions say nothing about traffic.
        stack.metrics.reset();
      }
      if (start.refresh ?? true) {
        scheduler = createRefreshScheduler({ stack, repo, leaderboards, log });
        scheduler.start();
        log.info('periodic refresh started', {
          jobs: 'leaderboard:daily 60s, leaderboard:weekly 300s, recent-tasks 120s',
        });
      }
    },
    async listen(port, host = '127.0.0.1') {
      const address = await app.listen({ port, host });
      return address.replace('[::1]', 'localhost');
    },
    close() {
      closing ??= (async () => {
        await scheduler?.stop({ abort: true });
        await app.close();
        exporter.close();
        await stack.close();
        await redis.quit().catch(() => redis.disconnect());
        await pool.end();
      })();
      return closing;
    },
  };
}
