import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ProbeReport } from '@tiercache/demo/probe';
import { type DemoFixture, startDemoFixture } from '@tiercache/demo/test-support';
import { Redis } from 'ioredis';
import pg from 'pg';

const require = createRequire(import.meta.url);
// worker.ts is `pnpm demo --instances N`'s API process; tsx runs it from the TypeScript
// sources with the root tsconfig (which maps @tiercache/* to packages/*/src): no build needed.
const WORKER = require.resolve('@tiercache/demo/worker');
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

/** Dataset of a chaos or soak run: big enough that L1 (300 entries) cannot hold the hot set. */
export const CHAOS_SIZES = { agents: 2_000, tasks: 20_000, votes: 10_000, sessions: 500 };

/** Cumulative cache counters of one worker (`GET /metrics/cache`). */
export interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
  readonly l1Hits: number;
  readonly l2Hits: number;
}

/** One demo API process (apps/demo/src/worker.ts), spoken to over HTTP and IPC. */
export interface DemoWorker {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Heap, handles and listeners; after a full GC when `gc` and the worker has `--expose-gc`. */
  probe(options?: { gc?: boolean }): Promise<ProbeReport>;
  counters(): Promise<CacheCounters>;
  /** The last lines it wrote (warnings and errors). */
  outputTail(): string;
  /** Warning and error lines written since start. */
  readonly errorLines: number;
  /**
   * Set if the process ended before {@link ChaosCluster.stop}: its exit code or signal and
   * its last lines (a crash would otherwise show only as requests it did not answer).
   */
  readonly exited: string | undefined;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** @default 2 */
  readonly instances?: number;
  /** Entries in each worker's L1. @default 300 */
  readonly l1Max?: number;
  /** Run the workers with `--expose-gc` (soak). @default false */
  readonly exposeGc?: boolean;
  /** @default CHAOS_SIZES */
  readonly sizes?: typeof CHAOS_SIZES;
}

/** PostgreSQL, Redis and N demo processes, with admin handles on both servers. */
export interface ChaosCluster {
  readonly fixture: DemoFixture;
  readonly workers: readonly DemoWorker[];
  /** A pool on the demo database for checks (not used by the API). */
  readonly pg: pg.Pool;
  /** A fresh admin connection to Redis (caller quits it). */
  redisAdmin(): Redis;
  stop(): Promise<void>;
}

function startWorker(
  fixture: DemoFixture,
  name: string,
  options: Required<Omit<ClusterOptions, 'sizes'>>,
): Promise<DemoWorker> {
  const child: ChildProcess = fork(WORKER, [], {
    execArgv: ['--import', 'tsx', ...(options.exposeGc ? ['--expose-gc'] : [])],
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: TSCONFIG,
      DATABASE_URL: fixture.postgres.connectionString,
      REDIS_URL: fixture.redis.url,
      PORT: '0',
      INSTANCE_NAME: name,
      INSTANCES: String(options.instances),
      L1_MAX: String(options.l1Max),
      // Warnings and errors only: they are kept and counted, not printed.
      DEMO_QUIET: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const tail: string[] = [];
  let errorLines = 0;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      if (/\s(warn|error)\s/.test(line)) errorLines++;
      tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: string | undefined;
  let nextId = 0;
  const pending = new Map<number, (report: ProbeReport) => void>();
  child.on('message', (m: { type?: string; id?: number }) => {
    if (m.type === 'probe' && typeof m.id === 'number') pending.get(m.id)?.(m as ProbeReport);
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${name} exited during startup (${code}):\n${tail.join('\n')}`));
    child.once('exit', onExit);
    child.on('message', (m: { type?: string; url?: string }) => {
      if (m.type !== 'ready' || typeof m.url !== 'string') return;
      child.off('exit', onExit);
      // 'close', not 'exit': a crash's stack may still be in the pipes when 'exit' fires.
      child.once('close', (code, signal) => {
        if (stopping.has(child)) return;
        exited =
          `${name} exited (${signal ?? `code ${code}`}) at ${new Date().toISOString()}; ` +
          `its last lines:\n${tail.join('\n')}`;
      });
      const url = m.url;
      resolve({
        name,
        url,
        pid: child.pid ?? 0,
        get errorLines() {
          return errorLines;
        },
        get exited() {
          return exited;
        },
        outputTail: () => tail.join('\n'),
        probe(probeOptions = {}) {
          const id = nextId++;
          return new Promise<ProbeReport>((done, fail) => {
            const timer = setTimeout(() => {
              pending.delete(id);
              fail(new Error(`${name} did not answer a probe in 30 s`));
            }, 30_000);
            pending.set(id, (report) => {
              clearTimeout(timer);
              pending.delete(id);
              done(report);
            });
            child.send({ type: 'probe', id, gc: probeOptions.gc === true });
          });
        },
        async counters() {
          const res = await fetch(`${url}/metrics/cache`, { signal: AbortSignal.timeout(2_000) });
          const body = (await res.json()) as CacheCounters;
          return { hits: body.hits, misses: body.misses, l1Hits: body.l1Hits, l2Hits: body.l2Hits };
        },
        // Kept on the object for stop(); not part of the interface.
        child,
      } as DemoWorker & { child: ChildProcess });
    });
  });
}

/** Children being stopped on purpose: their exit is not reported as a crash. */
const stopping = new WeakSet<ChildProcess>();

function stopChild(child: ChildProcess): Promise<void> {
  stopping.add(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts PostgreSQL (embedded) and redis-server (64 MB, volatile-lru) through the demo's test
 * fixture, seeds {@link CHAOS_SIZES}, and forks `instances` demo API processes on them, as
 * `pnpm demo --instances N` does (stampede lock on, warming and periodic refresh on).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ChaosCluster> {
  const resolved = {
    instances: options.instances ?? 2,
    l1Max: options.l1Max ?? 300,
    exposeGc: options.exposeGc ?? false,
  };
  // The fixture's own (in-process) instance rebuilds the shared Bloom filter once; it is
  // closed before the load starts, so only the worker processes serve.
  const fixture = await startDemoFixture(['chaos-setup'], options.sizes ?? CHAOS_SIZES);
  const workers: (DemoWorker & { child: ChildProcess })[] = [];
  const pool = new pg.Pool({ connectionString: fixture.postgres.connectionString, max: 3 });
  pool.on('error', () => {});
  try {
    await fixture.instances[0]?.close();
    for (let i = 1; i <= resolved.instances; i++) {
      workers.push(
        (await startWorker(fixture, `api-${i}`, resolved)) as DemoWorker & { child: ChildProcess },
      );
    }
  } catch (error) {
    await Promise.all(workers.map((w) => stopChild(w.child)));
    await pool.end();
    await fixture.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    fixture,
    workers,
    pg: pool,
    redisAdmin() {
      const client = new Redis(fixture.redis.url, {
        maxRetriesPerRequest: 3,
        connectionName: 'chaos-admin',
      });
      client.on('error', () => {});
      return client;
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(workers.map((w) => stopChild(w.child)));
        await pool.end();
        await fixture.stop();
      })();
      return stopping;
    },
  };
}
