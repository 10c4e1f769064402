/**
 * A separate process contending for a lock, run by `contention.int.test.ts` with tsx:
 * `node --import tsx src/test-support/contender.ts`. Configured through environment
 * variables; prints one JSON line per event on stdout.
 *
 * - `MODE=contend`: `ITERATIONS` times, takes the lock and, inside the critical section,
 *   INCRs a shared `holders` counter (recording a violation unless it is 1), appends its
 *   fencing token to a shared log, and DECRs the counter.
 * - `MODE=stale`: takes the lock, says `acquired`, then waits for a line on stdin (the test
 *   SIGSTOPs it meanwhile, past the lock's ttl), then writes to a fenced storage and releases.
 */
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { DistributedLock } from '../index.js';
import { fencedWrite } from './fenced-storage.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const redis = new Redis({ host: '127.0.0.1', port: Number(env('REDIS_PORT')) });
const resource = env('RESOURCE');
const logger = { warn: () => {}, error: (message: string) => say({ event: 'error', message }) };

async function contend(): Promise<void> {
  const iterations = Number(env('ITERATIONS'));
  let retries = 0;
  const locks = new DistributedLock({
    client: redis,
    ttl: 10_000,
    retry: {
      retries: Number.POSITIVE_INFINITY,
      baseDelay: 1,
      maxDelay: 8,
      jitter: 0.5,
      deadline: 120_000,
    },
    // Acquisition retries sleep without a signal; the watchdog always passes one.
    sleep: (ms, signal) => {
      if (signal === undefined) retries++;
      return delay(ms, undefined, { signal }).catch(() => {});
    },
    logger,
  });
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    await locks.executeWithLock(resource, async ({ fencingToken }) => {
      const holders = await redis.incr(`${resource}:holders`);
      if (holders !== 1) await redis.rpush(`${resource}:violations`, String(holders));
      await redis.rpush(`${resource}:log`, String(fencingToken));
      await redis.decr(`${resource}:holders`);
    });
  }
  say({ event: 'done', acquisitions: iterations, retries, ms: performance.now() - started });
}

async function stale(): Promise<void> {
  const locks = new DistributedLock({ client: redis, ttl: Number(env('TTL')), logger });
  const lock = await locks.acquire(resource);
  const lines = createInterface({ input: process.stdin });
  const resumed = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  say({ event: 'acquired', token: lock.token, fencingToken: lock.fencingToken });
  await resumed;
  lines.close();
  const written = await fencedWrite(redis, env('STORAGE'), 'stale', lock.fencingToken);
  const released = await lock.release();
  say({ event: 'done', written, released, lost: lock.signal.aborted });
}

try {
  await (env('MODE') === 'stale' ? stale() : contend());
} finally {
  redis.disconnect();
}
