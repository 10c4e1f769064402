import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { fencedWrite } from './test-support/fenced-storage.js';

// The workers run the TypeScript sources through tsx (a root devDependency), so no build is
// needed.
const TSX_LOADER = pathToFileURL(
  fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url)),
).href;
const CONTENDER = fileURLToPath(new URL('./test-support/contender.ts', import.meta.url));

const PROCESSES = 8;
const ACQUISITIONS = 10_000;

type Event = Record<string, unknown> & { event: string };

interface Worker {
  child: ChildProcess;
  /** Resolves with the next event the worker prints. */
  next(): Promise<Event>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

const workers: Worker[] = [];

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CONTENDER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const queue: Event[] = [];
  const waiters: ((event: Event) => void)[] = [];
  const deliver = (event: Event): void => {
    const waiter = waiters.shift();
    if (waiter === undefined) queue.push(event);
    else waiter(event);
  };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => deliver(JSON.parse(line) as Event));
  // A worker that dies says so, instead of leaving the test waiting for its timeout.
  let closed = false;
  lines.on('close', () => {
    closed = true;
    for (const waiter of waiters.splice(0)) waiter({ event: 'exited' });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const worker: Worker = {
    child,
    exited,
    next: () => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (closed) return Promise.resolve({ event: 'exited' });
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
  workers.push(worker);
  return worker;
}

let server: RedisServer;
let raw: Redis;

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.options());
});

afterAll(async () => {
  for (const { child } of workers) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  raw?.disconnect();
  await server?.stop();
});

describe('separate processes contending for one lock', () => {
  it(`never overlap across ${ACQUISITIONS} acquisitions by ${PROCESSES} processes, and log strictly increasing fencing tokens`, async () => {
    const resource = 'contended';
    const started = performance.now();
    const running = Array.from({ length: PROCESSES }, () =>
      startWorker({
        MODE: 'contend',
        REDIS_PORT: String(server.port),
        RESOURCE: resource,
        ITERATIONS: String(ACQUISITIONS / PROCESSES),
      }),
    );
    const results = await Promise.all(running.map((w) => w.next()));
    const codes = await Promise.all(running.map((w) => w.exited));
    const elapsed = performance.now() - started;

    expect(codes).toEqual(Array(PROCESSES).fill(0));
    expect(results.map((r) => r.event)).toEqual(Array(PROCESSES).fill('done'));
    expect(await raw.lrange(`${resource}:violations`, 0, -1)).toEqual([]);
    const log = (await raw.lrange(`${resource}:log`, 0, -1)).map(Number);
    expect(log).toHaveLength(ACQUISITIONS);
    const decreases = log.filter((token, i) => i > 0 && token <= log[i - 1]!);
    expect(decreases).toEqual([]);
    expect(await raw.get(`${resource}:holders`)).toBe('0');

    const retries = results.reduce((sum, r) => sum + Number(r.retries), 0);
    console.info(
      `[lock] ${PROCESSES} processes, ${ACQUISITIONS} acquisitions in ${Math.round(elapsed)} ms ` +
        `(${Math.round((ACQUISITIONS / elapsed) * 1000)}/s including process start-up), ` +
        `${retries} retries, fencing tokens ${log[0]}..${log.at(-1)}`,
    );
  }, 180_000);

  it('a holder paused past its ttl cannot release the next holder’s lock, and its write is fenced off', async () => {
    const resource = 'paused';
    const storage = 'paused-storage';
    const stale = startWorker({
      MODE: 'stale',
      REDIS_PORT: String(server.port),
      RESOURCE: resource,
      STORAGE: storage,
      TTL: '500',
    });
    const acquired = await stale.next();
    expect(acquired.event).toBe('acquired');
    stale.child.kill('SIGSTOP'); // a GC pause, a VM migration... longer than the ttl

    const client = new Redis(server.options());
    try {
      const locks = new DistributedLock({
        client,
        retry: { retries: 100, baseDelay: 50, maxDelay: 50 },
        logger: { warn: vi.fn(), error: vi.fn() },
      });
      // Succeeds once the paused holder's lock has expired in Redis.
      const fresh = await locks.acquire(resource);
      expect(fresh.fencingToken).toBeGreaterThan(Number(acquired.fencingToken));
      expect(await fencedWrite(raw, storage, 'fresh', fresh.fencingToken)).toBe(true);

      stale.child.kill('SIGCONT');
      stale.child.stdin!.write('continue\n');
      const done = await stale.next();

      expect(done).toEqual({ event: 'done', written: false, released: false, lost: true });
      expect(await raw.get(fresh.key)).toBe(fresh.token);
      expect(await raw.get(`${storage}:value`)).toBe('fresh');
      expect(await fresh.release()).toBe(true);
      expect(await stale.exited).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});
