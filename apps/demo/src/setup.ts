import { mkdir } from 'node:fs/promises';
import { startPostgres, startRedis } from '@tiercache/test-servers';
import pg from 'pg';
import type { DemoConfig, SeedSizes } from './config.js';
import { migrate } from './db/migrations.js';
import type { Progress } from './db/progress.js';
import { type SeedResult, seed } from './db/seed.js';
import type { Logger } from './log.js';

/** The PostgreSQL and Redis the demo runs against, and how to stop the ones it started. */
export interface Backing {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Stops the servers this process started (not those given by URL). */
  stop(): Promise<void>;
}

/**
 * Uses `DATABASE_URL` / `REDIS_URL` when set; otherwise starts an embedded PostgreSQL whose
 * data lives in `dataDir` (kept between runs, so the seed is reused) and a local
 * redis-server on a free port, sized and configured as the guide's L2 (512 MB).
 */
export async function startBacking(
  config: Pick<DemoConfig, 'databaseUrl' | 'redisUrl' | 'dataDir'>,
  log: Logger,
): Promise<Backing> {
  const stops: Array<() => Promise<void>> = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      log.info('starting embedded PostgreSQL', { dataDir: config.dataDir });
      await mkdir(config.dataDir, { recursive: true });
      const server = await startPostgres({
        databaseUrl: '',
        dataDir: config.dataDir,
        persistent: true,
        database: 'tiercache_demo',
      });
      stops.push(() => server.stop());
      databaseUrl = server.connectionString;
      log.info('PostgreSQL ready', { port: server.port });
    } else {
      log.info('using DATABASE_URL');
    }
    let redisUrl = config.redisUrl;
    if (redisUrl === undefined) {
      // volatile-lru rather than the guide's allkeys-lru: every cache entry has a TTL and
      // stays evictable, while the Bloom filter, the rankings and the lock fencing counters
      // (no TTL) must not be evicted.
      const server = await startRedis({ maxmemory: '512mb', maxmemoryPolicy: 'volatile-lru' });
      stops.push(() => server.stop());
      redisUrl = server.url;
      log.info('redis-server ready', { port: server.port });
    } else {
      log.info('using REDIS_URL');
    }
    return {
      databaseUrl,
      redisUrl,
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw error;
  }
}

/** Migrates, then seeds (unless `noSeed`), over a short-lived pool. */
export async function prepareDatabase(
  databaseUrl: string,
  options: { sizes: SeedSizes; reseed: boolean; noSeed: boolean; progress: Progress; log: Logger },
): Promise<SeedResult | undefined> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    await migrate(pool, options.log);
    if (options.noSeed) return undefined;
    return await seed(pool, options);
  } finally {
    await pool.end();
  }
}
