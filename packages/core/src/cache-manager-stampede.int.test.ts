import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// Every "process" below is a separate Node process running test-support/stampede-worker.ts
// through tsx (a root devDependency), from the repository root so that the root tsconfig
// paths resolve @tiercache/lock, l1 and redis to their sources: no build needed.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX_LOADER = pathToFileURL(`${ROOT}node_modules/tsx/dist/loader.mjs`).href;
const WORKER = fileURLToPath(new URL('./test-support/stampede-worker.ts', import.meta.url));

const PROCESSES = 4;
const GETS = 250;

type Event = Record<string, unknown> & { event: string };

interface Done extends Event {
  values: string[];
  count: number;
  elapsedMs: number;
  events: Array<{ event: string; reason?: string; waitedMs?: number }>;
}

interface Worker {
  child: ChildProcess;
  /**
   * Resolves with the first event named `name` the worker printed or prints, or with
   * `{ event: 'exited' }` if it exits first.
   */
  until(name: string): Promise<Event>;
  go(): void;
}

interface Round {
  key: string;
  loadMs: number;
  lockTtl: number;
  waitTimeout: number;
}

let server: RedisServer;
let raw: Redis;
let round = 0;
const workers: Worker[] = [];

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.options());
});

afterEach(() => {
  for (const { child } of workers.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, WORKER], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const log: Event[] = [];
  const waiters = new Set<{ name: string; resolve: (event: Event) => void }>();
  let closed = false;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    const event = JSON.parse(line) as Event;
    log.push(event);
    for (const waiter of waiters) {
      if (waiter.name !== event.event) continue;
      waiters.delete(waiter);
      waiter.resolve(event);
    }
  });
  // A worker that dies says so, instead of leaving the test waiting for its timeout.
  lines.on('close', () => {
    closed = true;
    for (const waiter of waiters) waiter.resolve({ event: 'exited' });
    waiters.clear();
  });
  const worker: Worker = {
    child,
    until: (name) => {
      const logged = log.find((e) => e.event === name);
      if (logged !== undefined) return Promise.resolve(logged);
      if (closed) return Promise.resolve({ event: 'exited' });
      return new Promise((resolve) => waiters.add({ name, resolve }));
    },
    go: () => child.stdin?.write('go\n'),
  };
  workers.push(worker);
  return worker;
}

/** Starts the processes, waits until each is connected, then lets them all go at once. */
async function startFleet({ key, loadMs, lockTtl, waitTimeout }: Round) {
  round++;
  const counter = `calls:${round}`;
  const fleet = Array.from({ length: PROCESSES }, () =>
    startWorker({
      REDIS_PORT: String(server.port),
      PREFIX: `r${round}:`,
      KEY: key,
      COUNTER: counter,
      GETS: String(GETS),
      LOAD_MS: String(loadMs),
      LOCK_TTL: String(lockTtl),
      WAIT_TIMEOUT: String(waitTimeout),
    }),
  );
  const ready = await Promise.all(fleet.map((w) => w.until('ready')));
  expect(ready.map((e) => e.event)).toEqual(Array(PROCESSES).fill('ready'));
  for (const worker of fleet) worker.go();
  const loaderCalls = async (): Promise<number> => Number(await raw.get(counter));
  return { fleet, loaderCalls, lockKey: `r${round}:lock:{${key}}` };
}

function eventsOf(done: Done, name: string) {
  return done.events.filter((e) => e.event === name);
}

describe(`${PROCESSES} processes × ${GETS} concurrent gets of one missing key (real Redis, DistributedLock)`, () => {
  it('call the loader once in total', async () => {
    const { fleet, loaderCalls } = await startFleet({
      key: 'hot',
      loadMs: 200,
      lockTtl: 10_000,
      waitTimeout: 5_000,
    });
    const results = (await Promise.all(fleet.map((w) => w.until('done')))) as Done[];

    expect(results.map((r) => r.event)).toEqual(Array(PROCESSES).fill('done'));
    expect(results.map((r) => r.count)).toEqual(Array(PROCESSES).fill(GETS));
    const values = new Set(results.flatMap((r) => r.values));
    expect(values.size).toBe(1);
    const calls = await loaderCalls();
    expect(calls).toBe(1);
    const waited = results.filter((r) => eventsOf(r, 'wait').length > 0).length;
    // Every process that did not hold the lock waited for L2, unless it started so late that
    // the value was already there; at least one of them was in time.
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(results.flatMap((r) => eventsOf(r, 'fallback'))).toEqual([]);
    console.info(
      `[stampede] ${PROCESSES} processes × ${GETS} gets → ${calls} loader call in total; ` +
        `${waited} processes waited for L2; slowest process answered in ` +
        `${Math.max(...results.map((r) => r.elapsedMs))} ms (load: 200 ms)`,
    );
  }, 120_000);

  it('still answer within waitTimeout + load time when the lock holder is killed mid-load', async () => {
    const loadMs = 1_000;
    const waitTimeout = 1_500;
    const { fleet, loaderCalls, lockKey } = await startFleet({
      key: 'killed',
      loadMs,
      lockTtl: 30_000, // the dead holder's lock outlives the test: only the fallback can help
      waitTimeout,
    });
    // The first process whose loader runs holds the lock.
    const loading = await Promise.race(
      fleet.map((w) => w.until('loading').then((event) => ({ w, event }))),
    );
    expect(loading.event.event).toBe('loading');
    const holder = loading.w;
    holder.child.kill('SIGKILL');

    const survivors = fleet.filter((w) => w !== holder);
    const results = (await Promise.all(survivors.map((w) => w.until('done')))) as Done[];

    expect(results.map((r) => r.event)).toEqual(Array(PROCESSES - 1).fill('done'));
    expect(results.map((r) => r.count)).toEqual(Array(PROCESSES - 1).fill(GETS));
    for (const r of results) {
      expect(eventsOf(r, 'wait')).toHaveLength(1);
      expect(eventsOf(r, 'fallback')).toMatchObject([{ reason: 'timeout' }]);
      // It waited out waitTimeout, then loaded: bounded, with a margin for a loaded machine.
      expect(r.elapsedMs).toBeGreaterThanOrEqual(waitTimeout);
      expect(r.elapsedMs).toBeLessThan(waitTimeout + loadMs + 2_000);
    }
    // The dead holder's lock is still there: nobody needed it to go away.
    expect(await raw.pttl(lockKey)).toBeGreaterThan(0);
    const calls = await loaderCalls();
    // The killed holder's call, then one per surviving process (single flight within each).
    expect(calls).toBe(PROCESSES);
    console.info(
      `[stampede] holder SIGKILLed mid-load: the ${PROCESSES - 1} others answered in ` +
        `${results.map((r) => r.elapsedMs).join(', ')} ms ` +
        `(waitTimeout ${waitTimeout} + load ${loadMs} ms); ${calls} loader calls in total`,
    );
  }, 120_000);

  it('take over as soon as a killed holder’s lock expires, with one more load', async () => {
    const loadMs = 500;
    const lockTtl = 1_000;
    const { fleet, loaderCalls } = await startFleet({
      key: 'taken-over',
      loadMs,
      lockTtl,
      waitTimeout: 10_000,
    });
    // The first process whose loader runs holds the lock.
    const loading = await Promise.race(
      fleet.map((w) => w.until('loading').then((event) => ({ w, event }))),
    );
    expect(loading.event.event).toBe('loading');
    loading.w.child.kill('SIGKILL');

    const survivors = fleet.filter((w) => w !== loading.w);
    const results = (await Promise.all(survivors.map((w) => w.until('done')))) as Done[];

    expect(results.map((r) => r.event)).toEqual(Array(PROCESSES - 1).fill('done'));
    expect(new Set(results.flatMap((r) => r.values)).size).toBe(1);
    expect(results.flatMap((r) => eventsOf(r, 'fallback'))).toEqual([]);
    for (const r of results) {
      // The lock expires at most lockTtl after the kill (the holder extended it every
      // lockTtl / 3 until then); one survivor loads, the others find the value in L2.
      expect(r.elapsedMs).toBeLessThan(lockTtl + loadMs + 2_000);
    }
    const calls = await loaderCalls();
    expect(calls).toBe(2);
    console.info(
      `[stampede] holder SIGKILLed, lockTtl ${lockTtl} ms: the others answered in ` +
        `${results.map((r) => r.elapsedMs).join(', ')} ms with ${calls} loader calls in total ` +
        `(${results.filter((r) => eventsOf(r, 'wait').length > 0).length} waited)`,
    );
  }, 120_000);
});
