import {
  type PostgresServer,
  type RedisServer,
  startPostgres,
  startRedis,
} from '@tiercache/test-servers';
import type { SeedSizes } from '../config.js';
import { noProgress } from '../db/progress.js';
import { createInstance, type Instance, type StartOptions } from '../instance.js';
import { silentLogger } from '../log.js';
import { prepareDatabase } from '../setup.js';

/** Small enough for CI, large enough for a 100-entry leaderboard. */
export const TEST_SIZES: SeedSizes = { agents: 200, tasks: 2_000, votes: 1_500, sessions: 200 };

/** Real PostgreSQL and Redis, migrated and seeded, and instances of the demo on them. */
export interface DemoFixture {
  readonly postgres: PostgresServer;
  readonly redis: RedisServer;
  readonly instances: readonly Instance[];
  /** Another instance on the same servers (closed by `stop`). */
  addInstance(name: string, start?: StartOptions & { cacheDisabled?: boolean }): Promise<Instance>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh database (embedded, or on `DATABASE_URL`) and a redis-server, seeds
 * {@link TEST_SIZES}, and starts `names.length` instances sharing both (no periodic refresh:
 * tests drive time themselves).
 */
export async function startDemoFixture(
  names: readonly string[] = ['a', 'b'],
  sizes: SeedSizes = TEST_SIZES,
): Promise<DemoFixture> {
  const [postgres, redis] = await Promise.all([
    startPostgres(),
    startRedis({ maxmemory: '64mb', maxmemoryPolicy: 'volatile-lru' }),
  ]);
  const instances: Instance[] = [];
  const addInstance = async (
    name: string,
    start: StartOptions & { cacheDisabled?: boolean } = {},
  ) => {
    const instance = createInstance({
      databaseUrl: postgres.connectionString,
      redisUrl: redis.url,
      name,
      log: silentLogger,
      cacheDisabled: start.cacheDisabled ?? false,
      poolSize: 5,
      processMetrics: false,
    });
    instances.push(instance);
    await instance.start({ refresh: false, ...start });
    return instance;
  };
  try {
    await prepareDatabase(postgres.connectionString, {
      sizes,
      reseed: false,
      noSeed: false,
      progress: noProgress,
      log: silentLogger,
    });
    for (const [i, name] of names.entries()) {
      // One Bloom rebuild is enough: the filter is shared.
      await addInstance(name, { rebuildBloom: i === 0 });
    }
  } catch (error) {
    await Promise.all(instances.map((i) => i.close()));
    await Promise.all([postgres.stop(), redis.stop()]);
    throw error;
  }
  return {
    postgres,
    redis,
    instances,
    addInstance,
    async stop() {
      await Promise.all(instances.map((i) => i.close()));
      await Promise.all([postgres.stop(), redis.stop()]);
    },
  };
}
