/**
 * One application instance for `cache-manager-stampede.int.test.ts`, run as its own Node
 * process with tsx (from the repository root, so the root tsconfig paths resolve
 * `@tiercache/*` to sources): a CacheManager over a memory L1, a Redis L2 and
 * `@tiercache/lock`'s DistributedLock as its locker. Configured through environment variables;
 * prints one JSON line per event on stdout.
 *
 * It says `ready`, waits for a `go` line on stdin (so that every process starts at once),
 * then makes `GETS` concurrent gets of `KEY`. Its loader INCRs the Redis key `COUNTER` (the
 * fleet-wide count of loader calls), says `loading`, and answers after `LOAD_MS`. When every
 * get has answered it says `done` with what they returned, how long the slowest took, and the
 * stampede events it saw, then exits.
 */
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { memoryTier } from '@tiercache/l1';
import { DistributedLock } from '@tiercache/lock';
import { redisTier } from '@tiercache/redis';
import { Redis } from 'ioredis';
import { CacheManager } from '../cache-manager.js';
import type { Locker } from '../locker.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const silent = { warn: () => {}, error: () => {}, debug: () => {} };
const prefix = env('PREFIX');
const key = env('KEY');
const counter = env('COUNTER');
const gets = Number(env('GETS'));
const loadMs = Number(env('LOAD_MS'));

const client = new Redis({
  host: '127.0.0.1',
  port: Number(env('REDIS_PORT')),
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
});
// Typed as core's Locker: DistributedLock satisfies it structurally, with no adapter.
const locker: Locker = new DistributedLock({
  client,
  prefix: `${prefix}lock:`,
  fencing: false,
  logger: silent,
});
const cache = new CacheManager({
  l1: memoryTier({ max: 1_000 }),
  // A loaded two-core CI box can stall a reply past the 250 ms default.
  l2: redisTier({ client, prefix, commandTimeout: 5_000, logger: silent }),
  locker,
  stampede: {
    lockTtl: Number(env('LOCK_TTL')),
    waitTimeout: Number(env('WAIT_TIMEOUT')),
  },
  logger: silent,
});
const events: Array<Record<string, unknown>> = [];
cache.on('stampede:wait', () => events.push({ event: 'wait' }));
cache.on('stampede:fallback', ({ reason, waitedMs }) =>
  events.push({ event: 'fallback', reason, waitedMs }),
);

async function run(): Promise<void> {
  const loader = async (): Promise<string> => {
    await client.incr(counter);
    say({ event: 'loading' });
    await delay(loadMs);
    return `loaded by ${process.pid}`;
  };
  const started = performance.now();
  const values = await Promise.all(
    Array.from({ length: gets }, () => cache.get<string>(key, loader)),
  );
  const elapsedMs = Math.round(performance.now() - started);
  say({ event: 'done', values: [...new Set(values)], count: values.length, elapsedMs, events });
}

await client.ping();
say({ event: 'ready', pid: process.pid });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
try {
  await run();
} catch (error) {
  say({ event: 'error', message: String(error) });
  process.exitCode = 1;
} finally {
  lines.close();
  await cache.close();
  client.disconnect();
}
