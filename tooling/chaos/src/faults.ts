import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { ChaosCluster } from './cluster.js';

/** How long each fault lasts. */
export interface FaultTimings {
  /** Redis down between SIGKILL and restart. */
  readonly redisDownMs: number;
  /** SIGSTOP → SIGCONT; longer than the L2 command timeout (250 ms) by far. */
  readonly redisPauseMs: number;
  /** maxmemory below used memory, noeviction. */
  readonly redisOomMs: number;
  /** Tables locked (every query on them waits). */
  readonly pgSlowMs: number;
}

/** A fault: `inject` starts it and resolves once it is over (the server is back). */
export interface Fault {
  readonly name: string;
  readonly description: string;
  /** Whether PostgreSQL can answer reads throughout (then no read may fail). */
  readonly pgAvailable: boolean;
  /**
   * How much longer than the usual bound a read may be stale during this fault, ms: while
   * Redis is stopped (SIGSTOP) the bus delivers nothing and the other instances keep serving
   * their L1 copy, as @tiercache/invalidation documents (bounded by the hang, or `l1Ttl`).
   * @default 0
   */
  readonly staleAllowanceMs?: (timings: FaultTimings) => number;
  inject(cluster: ChaosCluster, timings: FaultTimings): Promise<void>;
}

async function withAdmin<T>(
  cluster: ChaosCluster,
  use: (redis: ReturnType<ChaosCluster['redisAdmin']>) => Promise<T>,
) {
  const redis = cluster.redisAdmin();
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** The faults of the chaos suite, in the order they run. */
export const FAULTS: readonly Fault[] = [
  {
    name: 'redis-kill',
    description: 'Redis SIGKILL, restarted empty after `redisDownMs`',
    pgAvailable: true,
    async inject(cluster, t) {
      await cluster.fixture.redis.kill();
      await sleep(t.redisDownMs);
      await cluster.fixture.redis.restart();
    },
  },
  {
    name: 'redis-pause',
    description: 'Redis SIGSTOP, SIGCONT after `redisPauseMs`',
    pgAvailable: true,
    staleAllowanceMs: (t) => t.redisPauseMs,
    async inject(cluster, t) {
      cluster.fixture.redis.pause();
      try {
        await sleep(t.redisPauseMs);
      } finally {
        cluster.fixture.redis.resume();
      }
    },
  },
  {
    name: 'bus-client-kill',
    description: 'CLIENT KILL of every invalidation-bus subscriber connection',
    pgAvailable: true,
    async inject(cluster) {
      await withAdmin(cluster, async (redis) => {
        const list = (await redis.client('LIST')) as string;
        const ids = list
          .split('\n')
          .filter((line) => / name=tiercache:bus:/.test(line))
          .map((line) => /\bid=(\d+)/.exec(line)?.[1])
          .filter((id): id is string => id !== undefined);
        if (ids.length === 0) throw new Error('no bus subscriber connection found');
        for (const id of ids) await redis.client('KILL', 'ID', id);
      });
    },
  },
  {
    name: 'redis-oom',
    description: 'maxmemory set below used memory with `noeviction`: writes refused (OOM)',
    pgAvailable: true,
    async inject(cluster, t) {
      await withAdmin(cluster, async (redis) => {
        const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as [string, string];
        const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
        const info = await redis.info('memory');
        const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
        await redis.config('SET', 'maxmemory-policy', 'noeviction');
        await redis.config('SET', 'maxmemory', String(Math.max(1024 * 1024, used - 64 * 1024)));
        try {
          await sleep(t.redisOomMs);
        } finally {
          await redis.config('SET', 'maxmemory', maxmemory);
          await redis.config('SET', 'maxmemory-policy', policy);
        }
      });
    },
  },
  {
    name: 'pg-restart',
    description: 'PostgreSQL fast shutdown (sessions ended) and start on the same port',
    pgAvailable: false,
    async inject(cluster) {
      await cluster.fixture.postgres.restart();
    },
  },
  {
    name: 'pg-slow',
    description:
      'PostgreSQL stalls: agents, tasks and votes locked (ACCESS EXCLUSIVE) for `pgSlowMs`',
    pgAvailable: true,
    async inject(cluster, t) {
      const client = new pg.Client({ connectionString: cluster.fixture.postgres.connectionString });
      client.on('error', () => {});
      await client.connect();
      try {
        // NOWAIT, retried: waiting for one table while holding another deadlocked with the
        // demo's own transactions (PostgreSQL then aborts one of them: this, or a write).
        for (let attempt = 0; ; attempt++) {
          await client.query('BEGIN');
          try {
            await client.query('LOCK TABLE agents, tasks, votes IN ACCESS EXCLUSIVE MODE NOWAIT');
            break;
          } catch (error) {
            await client.query('ROLLBACK');
            const code = (error as { code?: string }).code;
            // 55P03: lock_not_available. Anything else, or never getting them, is a failure.
            if (code !== '55P03' || attempt >= 500) throw error;
            await sleep(10);
          }
        }
        await client.query('SELECT pg_sleep($1)', [t.pgSlowMs / 1000]);
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
    },
  },
];

/** No fault: the same load and checks, for a control run. */
export const NO_FAULT: Fault = {
  name: 'none',
  description: 'no fault (control)',
  pgAvailable: true,
  async inject() {},
};
