import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type PostgresServer,
  type RedisServer,
  startPostgres,
  startRedis,
} from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  APPLY_SQL,
  CREATE_TABLE_SQL,
  isTransientPgError,
} from './test-support/write-behind-sql.js';
import {
  type RedisWriteBehind,
  type RedisWriteBehindOptions,
  redisWriteBehind,
  streamIdSequence,
  type WriteBehindWrite,
} from './write-behind.js';

// The durable write-behind queue against a real redis-server and a real PostgreSQL, with
// workers in this process and, for the crash test, in separate processes run through tsx.

const TSX_LOADER = pathToFileURL(
  fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url)),
).href;
const WORKER = fileURLToPath(new URL('./test-support/write-behind-worker.ts', import.meta.url));

type Event = Record<string, unknown> & { event: string };

interface Worker {
  child: ChildProcess;
  /** Resolves with the next event the worker prints matching `accept` (default: any). */
  until(accept: (event: Event) => boolean): Promise<Event>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, WORKER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const seen: Event[] = [];
  let waiters: Array<{ accept: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const deliver = (event: Event): void => {
    seen.push(event);
    const still: typeof waiters = [];
    for (const w of waiters) {
      if (w.accept(event) || event.event === 'exited') w.resolve(event);
      else still.push(w);
    }
    waiters = still;
  };
  lines.on('line', (line) => deliver(JSON.parse(line) as Event));
  lines.on('close', () => deliver({ event: 'exited' }));
  return {
    child,
    exited: new Promise((resolve) => child.once('exit', resolve)),
    until: (accept) => {
      const found = seen.find((e) => accept(e) || e.event === 'exited');
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ accept, resolve }));
    },
  };
}

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

let redisServer: RedisServer;
let db: PostgresServer;
let raw: Redis;
let admin: pg.Client;
const queues: RedisWriteBehind<unknown>[] = [];
const pools: pg.Pool[] = [];

beforeAll(async () => {
  [redisServer, db] = await Promise.all([startRedis(), startPostgres()]);
  raw = new Redis({
    ...redisServer.options(),
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
  });
  admin = new pg.Client({ connectionString: db.connectionString });
  admin.on('error', () => {});
  await admin.connect();
}, 120_000);

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await admin?.end().catch(() => {});
  raw?.disconnect();
  await Promise.all([redisServer?.stop(), db?.stop()]);
});

/** A queue on the shared Redis; stopped after the test. */
function queue<T>(options: Omit<RedisWriteBehindOptions<T>, 'client'>): RedisWriteBehind<T> {
  const q = redisWriteBehind<T>({ client: raw, logger: silent, ...options });
  queues.push(q as RedisWriteBehind<unknown>);
  return q;
}

function pool(applicationName?: string): pg.Pool {
  const p = new pg.Pool({
    connectionString: db.connectionString,
    max: 8,
    ...(applicationName === undefined ? {} : { application_name: applicationName }),
  });
  // Connections terminated on purpose (the outage test) are reported here, not thrown.
  p.on('error', () => {});
  pools.push(p);
  return p;
}

async function freshTable(): Promise<void> {
  await admin.query('DROP TABLE IF EXISTS wb_items');
  await admin.query(CREATE_TABLE_SQL);
}

async function rows(): Promise<Map<string, { value: number; last_seq: string }>> {
  const { rows: all } = await admin.query<{ key: string; value: number; last_seq: string }>(
    'SELECT key, value, last_seq FROM wb_items',
  );
  return new Map(all.map((r) => [r.key, { value: r.value, last_seq: r.last_seq }]));
}

/** Enqueues `count` updates over `keys` keys (update i → key `k{i % keys}`, value i). */
async function produce(
  producer: RedisWriteBehind<number>,
  from: number,
  count: number,
  keys: number,
  last: Map<string, { value: number; id: string }>,
): Promise<void> {
  const CHUNK = 500;
  for (let start = from; start < from + count; start += CHUNK) {
    const batch = Array.from(
      { length: Math.min(CHUNK, from + count - start) },
      (_, j) => start + j,
    );
    const ids = await Promise.all(batch.map((i) => producer.enqueue(`k${i % keys}`, i)));
    for (const [j, i] of batch.entries()) {
      last.set(`k${i % keys}`, { value: i, id: ids[j] as string });
    }
  }
}

/** Every key holds its last write: the value, and the sequence of the entry that wrote it. */
async function expectLastWrites(last: Map<string, { value: number; id: string }>): Promise<void> {
  const table = await rows();
  expect(table.size).toBe(last.size);
  const wrong = [...last].filter(([key, { value, id }]) => {
    const row = table.get(key);
    return row?.value !== value || row.last_seq !== String(streamIdSequence(id));
  });
  expect(wrong).toEqual([]);
}

describe('redisWriteBehind against Redis and PostgreSQL', () => {
  it('10k updates over 1000 keys reach PostgreSQL as the last write per key says, across a SIGKILLed worker', async () => {
    await freshTable();
    const stream = 'wb:crash';
    const group = 'appliers';
    const producer = queue<number>({ stream, group });
    const last = new Map<string, { value: number; id: string }>();
    const workerEnv = {
      REDIS_PORT: String(redisServer.port),
      DATABASE_URL: db.connectionString,
      STREAM: stream,
      GROUP: group,
      CLAIM_IDLE_MS: '1500',
    };

    const started = performance.now();
    const first = startWorker({ ...workerEnv, CONSUMER: 'worker-a' });
    expect((await first.until((e) => e.event === 'started')).event).toBe('started');
    await produce(producer, 0, 5_000, 1_000, last);
    const atKill = await first.until((e) => e.event === 'progress' && Number(e.applied) >= 2_500);
    expect(atKill.event).toBe('progress');
    first.child.kill('SIGKILL');
    await first.exited;
    const [pendingOfA] = (await raw.xpending(stream, group)) as [number];

    const second = startWorker({ ...workerEnv, CONSUMER: 'worker-b' });
    expect((await second.until((e) => e.event === 'started')).event).toBe('started');
    await produce(producer, 5_000, 5_000, 1_000, last);
    await producer.flush({ signal: AbortSignal.timeout(120_000) });
    const elapsed = performance.now() - started;
    second.child.stdin?.write('stop\n');
    const stopped = await second.until((e) => e.event === 'stopped');

    expect(stopped.event).toBe('stopped');
    expect(await second.exited).toBe(0);
    await expectLastWrites(last);
    expect(Number(stopped.claimed)).toBeGreaterThan(0);
    expect(((await raw.xpending(stream, group)) as [number])[0]).toBe(0);
    expect(await raw.xlen(`${stream}:dead`)).toBe(0);
    // Trimmed as acknowledged (XTRIM MINID ~ leaves at most a partly filled macro node).
    const length = await raw.xlen(stream);
    expect(length).toBeLessThan(1_000);
    console.info(
      `[write-behind] 10000 updates over 1000 keys: ${Math.round(elapsed)} ms end to end ` +
        `(worker A SIGKILLed after ${atKill.applied} applies with ${pendingOfA} writes pending; ` +
        `worker B claimed ${stopped.claimed}, applied ${stopped.applied}); stream length after trim ${length}`,
    );
  }, 180_000);

  it('a PostgreSQL outage (connections terminated and refused for 3 s) delays writes but loses none', async () => {
    await freshTable();
    const applyPool = pool('wb-outage');
    let retries = 0;
    let appliedDuringOutage = 0;
    let outage = false;
    const worker = queue<number>({
      stream: 'wb:outage',
      claimIdleMs: 5_000,
      maxAttempts: 3,
      isTransient: isTransientPgError,
      backoff: { baseDelay: 50, maxDelay: 500 },
      apply: async ({ key, value, sequence }) => {
        await applyPool.query(APPLY_SQL, [key, value, sequence]);
        if (outage) appliedDuringOutage++;
      },
    });
    worker.on('retry', () => retries++);
    await worker.start();
    const last = new Map<string, { value: number; id: string }>();
    const producing = produce(worker, 0, 3_000, 200, last);

    await vi.waitFor(() => expect(worker.stats.applied).toBeGreaterThan(300), { timeout: 30_000 });
    // PostgreSQL refuses to close the database it is connected to: go through another one.
    const other = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database: 'postgres',
    });
    await other.connect();
    const name = other.escapeIdentifier(db.database);
    let appliedInOutage: number;
    let appliedAtOutage = 0;
    try {
      await other.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await other.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wb-outage'",
      );
      outage = true;
      appliedAtOutage = worker.stats.applied;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      appliedInOutage = worker.stats.applied - appliedAtOutage;
      outage = false;
    } finally {
      await other.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await other.end();
    }
    const back = performance.now();
    await producing;
    await worker.flush({ signal: AbortSignal.timeout(60_000) });
    const drained = performance.now() - back;

    await expectLastWrites(last);
    expect(appliedAtOutage).toBeLessThan(3_000);
    expect(retries).toBeGreaterThan(0);
    expect(appliedDuringOutage).toBe(0);
    expect(appliedInOutage).toBeLessThanOrEqual(8); // at most the applies already past their query
    expect(worker.stats.deadLettered).toBe(0);
    expect(await raw.xlen('wb:outage:dead')).toBe(0);
    console.info(
      `[write-behind] outage: ${appliedAtOutage}/3000 applied when PostgreSQL went away for 3 s; ` +
        `${retries} retried attempts; the remaining ${3_000 - appliedAtOutage - appliedInOutage} ` +
        `drained ${Math.round(drained)} ms after it came back; 0 dead letters`,
    );
  }, 120_000);

  it('a write the database rejects (CHECK constraint) goes to the dead-letter stream with its error', async () => {
    await freshTable();
    const applyPool = pool();
    const dead: unknown[] = [];
    const worker = queue<number>({
      stream: 'wb:poison',
      maxAttempts: 3,
      isTransient: isTransientPgError,
      backoff: { baseDelay: 10, maxDelay: 50 },
      apply: async ({ key, value, sequence }) => {
        await applyPool.query(APPLY_SQL, [key, value, sequence]);
      },
    });
    worker.on('dead', (event) => dead.push(event));
    await worker.start();

    await worker.enqueue('good:1', 5);
    const poisonId = await worker.enqueue('bad', -1);
    await worker.enqueue('good:2', 7);
    await worker.flush({ signal: AbortSignal.timeout(30_000) });

    expect([...(await rows()).entries()].map(([key, row]) => [key, row.value]).sort()).toEqual([
      ['good:1', 5],
      ['good:2', 7],
    ]);
    const entries = await raw.xrange('wb:poison:dead', '-', '+');
    expect(entries).toHaveLength(1);
    const fields = Object.fromEntries(
      (entries[0]?.[1] ?? []).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
    );
    expect(fields).toMatchObject({
      id: poisonId,
      k: 'bad',
      v: '-1',
      code: '23514', // check_violation
      attempts: '3',
      stream: 'wb:poison',
    });
    expect(fields.error).toMatch(/check constraint/);
    expect(dead).toEqual([expect.objectContaining({ id: poisonId, key: 'bad', attempts: 3 })]);
    expect(worker.stats).toMatchObject({ deadLettered: 1, retries: 2, applied: 2 });
  });
});

describe('redisWriteBehind against Redis', () => {
  it('applies the writes of one key in order, a retried write holding back the later ones', async () => {
    const order: string[] = [];
    let failuresLeft = 2;
    const worker = queue<string>({
      stream: 'wb:order',
      backoff: { baseDelay: 20, maxDelay: 20 },
      apply: ({ key, value, attempt }) => {
        order.push(`${key}=${value}#${attempt}`);
        if (value === 'a1' && failuresLeft-- > 0) throw new Error('flaky');
      },
    });
    await worker.enqueue('a', 'a1');
    await worker.enqueue('a', 'a2');
    await worker.enqueue('b', 'b1');
    await worker.start();
    await worker.flush({ signal: AbortSignal.timeout(10_000) });

    expect(order.filter((o) => o.startsWith('a='))).toEqual([
      'a=a1#1',
      'a=a1#2',
      'a=a1#3',
      'a=a2#1',
    ]);
    // Another key is not held back by a's retries.
    expect(order.indexOf('b=b1#1')).toBeLessThan(order.indexOf('a=a1#3'));
  });

  it('gives apply the entry id, its sequence and the value', async () => {
    const writes: WriteBehindWrite<{ n: number }>[] = [];
    const worker = queue<{ n: number }>({ stream: 'wb:shape', apply: (w) => void writes.push(w) });
    const id = await worker.enqueue('user:1', { n: 1 });
    await worker.start();
    await worker.flush();

    expect(writes).toEqual([
      { id, sequence: streamIdSequence(id), key: 'user:1', value: { n: 1 }, attempt: 1 },
    ]);
  });

  it('runs one worker loop when start() is called twice at once', async () => {
    const applied: number[] = [];
    const worker = queue<number>({
      stream: 'wb:start-twice',
      apply: (w) => void applied.push(w.value),
    });

    await Promise.all([worker.start(), worker.start()]);
    await worker.enqueue('k', 1);
    await worker.flush({ signal: AbortSignal.timeout(10_000) });

    expect(applied).toEqual([1]);
  });

  it('updates the cache when the write is queued, before it is applied', async () => {
    const cache = new Map<string, unknown>();
    const producer = queue<number>({
      stream: 'wb:cache',
      cache: { set: (key, value) => cache.set(key, value) },
    });

    await producer.enqueue('score:1', 42);

    expect(cache.get('score:1')).toBe(42);
    expect(await raw.xlen('wb:cache')).toBe(1);
  });

  it('deletes the key from the cache when the cache update fails', async () => {
    const deleted: string[] = [];
    const producer = queue<number>({
      stream: 'wb:cache-fail',
      cache: {
        set: () => Promise.reject(new Error('L2 down')),
        delete: (key) => deleted.push(key),
      },
    });

    await producer.enqueue('score:1', 42);

    expect(deleted).toEqual(['score:1']);
  });

  it('stop() waits for the apply in flight and hands back the writes not started', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const applied: string[] = [];
    const first = queue<number>({
      stream: 'wb:stop',
      consumer: 'first',
      concurrency: 1,
      claimIdleMs: 60_000,
      apply: async ({ key }) => {
        await gate;
        applied.push(key);
      },
    });
    for (let i = 0; i < 5; i++) await first.enqueue(`k${i}`, i);
    await first.start();
    await vi.waitFor(() => expect(first.stats.held).toBe(5), { timeout: 10_000 });

    let stopped = false;
    const stopping = first.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(applied).toEqual(['k0']);

    // The 4 others are claimable at once, although claimIdleMs is a minute.
    const second = queue<number>({
      stream: 'wb:stop',
      consumer: 'second',
      claimIdleMs: 60_000,
      apply: ({ key }) => void applied.push(key),
    });
    await second.start();
    await second.flush({ signal: AbortSignal.timeout(10_000) });
    expect(applied.sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(second.stats.claimed).toBe(4);
  });

  it('a restarted worker with the same consumer name takes back its own pending writes at once', async () => {
    const stream = 'wb:restart';
    // Reads two writes as "worker-1" and never acknowledges them (a crash).
    await raw.xgroup('CREATE', stream, 'tiercache-write-behind', '0', 'MKSTREAM');
    const producer = queue<number>({ stream });
    await producer.enqueue('x', 1);
    await producer.enqueue('y', 2);
    await raw.xreadgroup(
      'GROUP',
      'tiercache-write-behind',
      'worker-1',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );

    const applied: string[] = [];
    const restarted = queue<number>({
      stream,
      consumer: 'worker-1',
      claimIdleMs: 60_000,
      apply: ({ key }) => void applied.push(key),
    });
    await restarted.start();
    await restarted.flush({ signal: AbortSignal.timeout(10_000) });

    expect(applied).toEqual(['x', 'y']);
    expect(restarted.stats.claimed).toBe(0);
  });

  it('flush() resolves at once for a stream that does not exist', async () => {
    await expect(queue({ stream: 'wb:none' }).flush()).resolves.toBeUndefined();
  });

  it('flush() rejects with the signal reason when no worker drains the stream', async () => {
    const producer = queue<number>({ stream: 'wb:idle' });
    await producer.enqueue('k', 1);

    await expect(producer.flush({ signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('keeps serving after Redis restarts under a running worker', async () => {
    const applied: number[] = [];
    const errors: string[] = [];
    const server = await startRedis();
    const client = new Redis({ ...server.options(), maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      const worker = redisWriteBehind<number>({
        client,
        stream: 'wb:restart-redis',
        logger: silent,
        blockMs: 200,
        backoff: { baseDelay: 50, maxDelay: 200 },
        apply: ({ value }) => void applied.push(value),
      });
      worker.on('error', ({ operation }) => errors.push(operation));
      await worker.start();
      await worker.enqueue('k', 1);
      await vi.waitFor(() => expect(applied).toEqual([1]), { timeout: 10_000 });

      await server.restart(); // no persistence: the stream and group are gone
      await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000 });
      await vi.waitFor(
        async () => {
          await worker.enqueue('k', 2);
          expect(applied).toContain(2);
        },
        { timeout: 20_000, interval: 500 },
      );
      await worker.stop();

      expect(errors).toContain('XREADGROUP');
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
