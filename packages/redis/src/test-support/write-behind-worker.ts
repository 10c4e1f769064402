/**
 * A write-behind worker in its own process, run by `write-behind.int.test.ts` with tsx:
 * `node --import tsx src/test-support/write-behind-worker.ts`. Applies the writes of
 * `STREAM` to the `wb_items` table of `DATABASE_URL`, guarded by the entry's sequence.
 * Prints one JSON line per event on stdout: `started`, `progress` (every 250 writes
 * applied), and `stopped` (with its stats) after it reads `stop` on stdin.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { redisWriteBehind } from '../write-behind.js';
import { APPLY_SQL, isTransientPgError } from './write-behind-sql.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const redis = new Redis({
  host: '127.0.0.1',
  port: Number(env('REDIS_PORT')),
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
});
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 8 });
pool.on('error', () => {});

const queue = redisWriteBehind<number>({
  client: redis,
  stream: env('STREAM'),
  group: env('GROUP'),
  consumer: env('CONSUMER'),
  claimIdleMs: Number(env('CLAIM_IDLE_MS')),
  concurrency: 8,
  isTransient: isTransientPgError,
  backoff: { baseDelay: 50, maxDelay: 1_000 },
  logger: { warn: () => {}, error: (message) => say({ event: 'error', message }) },
  apply: async ({ key, value, sequence }) => {
    await pool.query(APPLY_SQL, [key, value, sequence]);
  },
});

let applied = 0;
queue.on('applied', () => {
  if (++applied % 250 === 0) say({ event: 'progress', applied, claimed: queue.stats.claimed });
});

await queue.start();
say({ event: 'started' });

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line.trim() !== 'stop') return;
  await queue.stop();
  say({ event: 'stopped', ...queue.stats });
  lines.close();
  await pool.end();
  redis.disconnect();
});
