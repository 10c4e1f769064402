import { type PostgresServer, startPostgres } from '@tiercache/test-servers';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RefreshScheduler } from './refresh-scheduler.js';
import { type RealRedis, startRealRedis } from './test-support/real-tiers.js';
import { type WarmSpecReport, warm } from './warming.js';

// Warming and scheduled refresh against a real PostgreSQL (the source of truth) and a real
// CacheManager (memory L1 + Redis L2). One Redis and one PostgreSQL for the whole file.

const ROWS = 10_000;
const CONCURRENCY = 16;

interface Item {
  id: number;
  name: string;
  score: number;
}

let db: PostgresServer;
let pool: pg.Pool;
let fx: RealRedis;

beforeAll(async () => {
  [db, fx] = await Promise.all([startPostgres(), startRealRedis('standalone')]);
  pool = new pg.Pool({ connectionString: db.connectionString, max: CONCURRENCY + 4 });
  // Dropping the database at the end terminates connections the pool is still closing.
  pool.on('error', () => {});
  await pool.query(
    'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL)',
  );
  await pool.query(
    `INSERT INTO items SELECT i, 'item ' || i, (i * 7919) % 1000 FROM generate_series(1, ${ROWS}) AS i`,
  );
}, 120_000);
afterEach(() => fx.cleanup());
afterAll(async () => {
  await pool?.end();
  await Promise.all([fx?.stop(), db?.stop()]);
});

/** Reads every key through a second instance sharing the Redis prefix: L2 answers or it throws. */
async function fromL2(prefix: string, keys: string[]): Promise<Map<string, unknown>> {
  const other = await fx.manager({ prefix, l1: false });
  return other.cache.getMany(keys);
}

describe('warm from PostgreSQL into real tiers', () => {
  it(`loads ${ROWS} rows one key at a time with at most ${CONCURRENCY} queries in flight`, async () => {
    const prefix = fx.prefix();
    const { cache, of } = await fx.manager({ prefix });
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: WarmSpecReport[] = [];

    const started = performance.now();
    const report = await warm(
      cache,
      [
        {
          name: 'items',
          keys: async () =>
            (await pool.query<{ id: number }>('SELECT id FROM items ORDER BY id')).rows.map(
              (r) => `item:${r.id}`,
            ),
          load: async (key) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            try {
              const { rows } = await pool.query<Item>('SELECT * FROM items WHERE id = $1', [
                Number(key.slice(5)),
              ]);
              return rows[0] ?? null;
            } finally {
              inFlight--;
            }
          },
          ttl: 10 * 60_000,
        },
      ],
      { concurrency: CONCURRENCY, progressEvery: 1_000, onProgress: (p) => progress.push(p) },
    );
    const elapsed = performance.now() - started;

    expect(report).toMatchObject({ status: 'completed', stored: ROWS, errors: 0 });
    expect(of('tier:error')).toEqual([]);
    expect(maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(progress.map((p) => p.done)).toEqual([
      1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000, 10_000,
    ]);
    expect(progress.at(-1)?.finished).toBe(true);

    const keys = Array.from({ length: ROWS }, (_, i) => `item:${i + 1}`);
    const l2 = await fromL2(prefix, keys);
    expect(l2.size).toBe(ROWS);
    expect(l2.get('item:1234')).toEqual({
      id: 1234,
      name: 'item 1234',
      score: (1234 * 7919) % 1000,
    });
    console.info(
      `[warm] ${ROWS} keys, one query each, concurrency ${CONCURRENCY}: ${Math.round(elapsed)} ms ` +
        `(${Math.round((ROWS / elapsed) * 1000)} keys/s), max in flight ${maxInFlight}`,
    );
  });

  it(`loads ${ROWS} rows from a single query without per-key loads`, async () => {
    const prefix = fx.prefix();
    const { cache } = await fx.manager({ prefix });

    const started = performance.now();
    const report = await warm(
      cache,
      [
        {
          name: 'items (one query)',
          entries: async () =>
            (await pool.query<Item>('SELECT * FROM items')).rows.map(
              (row) => [`item:${row.id}`, row] as const,
            ),
        },
      ],
      { concurrency: CONCURRENCY },
    );
    const elapsed = performance.now() - started;

    expect(report).toMatchObject({ status: 'completed', stored: ROWS, errors: 0 });
    const l2 = await fromL2(prefix, ['item:1', `item:${ROWS}`]);
    expect(l2.get(`item:${ROWS}`)).toMatchObject({ id: ROWS });
    console.info(
      `[warm] ${ROWS} rows from one query, concurrency ${CONCURRENCY}: ${Math.round(elapsed)} ms`,
    );
  });

  it('counts the keys whose query fails and warms the rest', async () => {
    const prefix = fx.prefix();
    const { cache } = await fx.manager({ prefix });

    const report = await warm(cache, [
      {
        name: 'mixed',
        keys: ['item:1', 'item:oops', 'item:3'],
        load: async (key) =>
          (await pool.query<Item>('SELECT * FROM items WHERE id = $1', [key.slice(5)])).rows[0],
      },
    ]);

    expect(report).toMatchObject({ stored: 2, errors: 1 });
    expect(report.specs[0]?.failures[0]).toMatchObject({
      key: 'item:oops',
      error: { code: '22P02' }, // invalid_text_representation
    });
  });
});

describe('RefreshScheduler on real tiers and PostgreSQL', () => {
  const leaderboard = async (): Promise<Item[]> =>
    (await pool.query<Item>('SELECT * FROM items ORDER BY score DESC, id LIMIT 10')).rows;

  it('keeps serving the old value while the refresh query fails, and counts the failures', async () => {
    const prefix = fx.prefix();
    const { cache } = await fx.manager({ prefix });
    const scheduler = new RefreshScheduler({
      cache,
      logger: { warn: () => {}, error: () => {} },
    });
    scheduler.add({
      key: 'leaderboard:daily',
      interval: 100,
      ttl: 60_000,
      runOnStart: true,
      load: async () =>
        (await pool.query<Item>('SELECT * FROM items_board ORDER BY score DESC, id LIMIT 10')).rows,
    });
    await pool.query('CREATE VIEW items_board AS SELECT * FROM items');
    try {
      scheduler.start();
      await vi.waitFor(() => expect(scheduler.stats('leaderboard:daily').successes).toBe(1), {
        timeout: 10_000,
      });
      const before = await leaderboard();

      await pool.query('ALTER VIEW items_board RENAME TO items_board_gone');
      await vi.waitFor(
        () => expect(scheduler.stats('leaderboard:daily').consecutiveFailures).toBeGreaterThan(2),
        { timeout: 10_000 },
      );
      const stats = scheduler.stats('leaderboard:daily');
      const other = await fx.manager({ prefix });
      const served = await other.cache.get('leaderboard:daily', () => {
        throw new Error('not in L2');
      });

      expect(served).toEqual(before);
      expect(stats.lastError).toMatchObject({ code: '42P01' }); // undefined_table
      await pool.query('ALTER VIEW items_board_gone RENAME TO items_board');
      await vi.waitFor(
        () => expect(scheduler.stats('leaderboard:daily').consecutiveFailures).toBe(0),
        { timeout: 10_000 },
      );
    } finally {
      await scheduler.stop();
      await pool.query('DROP VIEW IF EXISTS items_board, items_board_gone');
    }
  });

  it('never runs two refreshes of one key at once under a slow query, and stop() waits for it', async () => {
    const prefix = fx.prefix();
    const { cache } = await fx.manager({ prefix });
    const scheduler = new RefreshScheduler({ cache, jitter: 0.5, runOnStart: true });
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    scheduler.add({
      key: 'slow',
      interval: 20, // far shorter than the query
      load: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await pool.query('SELECT pg_sleep(0.15)');
          return ++runs;
        } finally {
          inFlight--;
        }
      },
    });

    scheduler.start();
    // Manual refreshes racing the timer join the run in flight.
    const manual = await Promise.all([scheduler.refresh('slow'), scheduler.refresh('slow')]);
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(5), { timeout: 20_000 });
    await scheduler.stop();

    expect(manual[0]).toBe(manual[1]);
    expect(maxInFlight).toBe(1);
    expect(inFlight).toBe(0);
    const after = runs;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toBe(after);
    expect(await cache.get('slow', () => -1)).toBe(after);
  });
});
