import { redisBus } from '@tiercache/invalidation';
import { memoryTier } from '@tiercache/l1';
import { type RedisTier, redisTier } from '@tiercache/redis';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheManager } from './cache-manager.js';
import type { RedoDoneEvent, TierErrorEvent } from './events.js';
import type { RedoFailedDeletesOption } from './options.js';

// redoFailedDeletes on real Redis, two instances (each: an L1, the shared Redis tier and the
// Redis bus). Redis hangs (SIGSTOP) past the command timeout; instance A's circuit opens, so
// A's delete of a key is refused and never reaches Redis, while its bus message, sent on the
// hung connection, is delivered once Redis resumes: instance B drops its L1 copy and reads
// the old value back from L2, the chaos suite's stale reads. The redo ends them; without it
// they last until the entry's TTL.

const COMMAND_TIMEOUT = 200;
/** One timeout opens the circuit; it lets a probe through this long after. */
const RESET_TIMEOUT = 500;
const REDO_INTERVAL = 500;
/** How soon B must see the new value once Redis is back: a few redo intervals. */
const WITHIN = 4_000;
const TTL = 120_000;

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

let server: RedisServer;
let run = 0;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  server.resume();
  for (const close of closers.splice(0)) await close();
});
afterAll(() => server?.stop());

interface Instance {
  readonly cache: CacheManager;
  readonly l2: RedisTier;
  readonly received: () => number;
  readonly redone: RedoDoneEvent[];
  readonly tierErrors: TierErrorEvent[];
}

async function instance(
  prefix: string,
  channel: string,
  redoFailedDeletes: RedoFailedDeletesOption,
): Promise<Instance> {
  const client = new Redis({
    ...server.options(),
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
  });
  client.on('error', () => {});
  const l2 = redisTier({
    client,
    prefix,
    commandTimeout: COMMAND_TIMEOUT,
    circuitBreaker: { failureThreshold: 1, resetTimeout: RESET_TIMEOUT },
    logger: silent,
  });
  const bus = redisBus({ client, channel, publishTimeout: 500, logger: silent });
  await bus.ready();
  const cache = new CacheManager({
    l1: memoryTier({ max: 1_000 }),
    l2,
    bus,
    versionedWrites: true,
    ttl: TTL,
    redoFailedDeletes,
    logger: silent,
  });
  const redone: RedoDoneEvent[] = [];
  const tierErrors: TierErrorEvent[] = [];
  cache.on('redo:done', (e) => redone.push(e));
  cache.on('tier:error', (e) => tierErrors.push(e));
  closers.push(async () => {
    await cache.close();
    await bus.close();
    client.disconnect();
  });
  return { cache, l2, received: () => bus.stats.received, redone, tierErrors };
}

/**
 * A and B with `key` cached in L2 and in B's L1; then A deletes it while Redis hangs (A's
 * L2 delete refused by the open circuit), and Redis resumes. Returns once B has applied A's
 * message, i.e. dropped its L1 copy.
 */
async function deleteWhileRedisHangs(redo: RedoFailedDeletesOption) {
  run++;
  const prefix = `redo${run}:`;
  const a = await instance(prefix, `bus:redo${run}`, redo);
  const b = await instance(prefix, `bus:redo${run}`, redo);
  const key = 'agent:42';
  await a.cache.set(key, 'old name');
  expect(await b.cache.get(key, () => 'unused')).toBe('old name');
  const received = b.received();

  server.pause();
  try {
    // A read that times out opens A's circuit (failureThreshold 1).
    expect(await a.cache.get('other', () => 'loaded')).toBe('loaded');
    expect(a.l2.circuitState).toBe('open');
    await a.cache.delete(key);
  } finally {
    server.resume();
  }
  expect(a.tierErrors).toContainEqual(
    expect.objectContaining({ tier: 'l2', operation: 'delete', key }),
  );
  expect(a.cache.redoStats.pending).toBe(redo === false ? 0 : 1);
  // The PUBLISH sent on the hung connection is delivered once Redis resumes.
  await vi.waitFor(() => expect(b.received()).toBeGreaterThan(received), {
    timeout: 10_000,
    interval: 20,
  });
  return { a, b, key };
}

/** B reads `key` (the loader stands for the database, which has the new name). */
const readB = (b: Instance, key: string) => b.cache.get(key, () => 'new name');

describe('a delete refused while Redis hung', () => {
  it('is redone: instance B stops reading the old value within a few redo intervals', async () => {
    const { a, b, key } = await deleteWhileRedisHangs({ interval: REDO_INTERVAL });

    await vi.waitFor(async () => expect(await readB(b, key)).toBe('new name'), {
      timeout: WITHIN,
      interval: 50,
    });

    await vi.waitFor(() => expect(a.cache.redoStats).toMatchObject({ pending: 0, dropped: 0 }));
    expect(a.redone.flatMap((e) => e.deleted)).toContain(key);
  });

  it('is redone at once when the circuit closes, long before the next timer', async () => {
    const { a, b, key } = await deleteWhileRedisHangs({ interval: 60_000 });
    const closed = new Promise<void>((resolve) => {
      const off = a.l2.on('circuit', (state) => {
        if (state === 'closed') {
          off();
          resolve();
        }
      });
    });

    // Any L2 call after the reset timeout is the probe that closes A's circuit.
    await vi.waitFor(
      async () => {
        await a.cache.get('probe', () => 'x', { ttl: 1 });
        expect(a.l2.circuitState).toBe('closed');
      },
      { timeout: 10_000, interval: RESET_TIMEOUT / 2 },
    );
    await closed;
    await vi.waitFor(async () => expect(await readB(b, key)).toBe('new name'), {
      timeout: WITHIN,
      interval: 50,
    });
    expect(a.redone.flatMap((e) => e.deleted)).toContain(key);
  });

  it('without redoFailedDeletes, B keeps reading the old value (the control)', async () => {
    const { a, b, key } = await deleteWhileRedisHangs(false);

    await expect(
      vi.waitFor(async () => expect(await readB(b, key)).toBe('new name'), {
        timeout: WITHIN,
        interval: 50,
      }),
    ).rejects.toThrow();

    expect(a.redone).toEqual([]);
    // Redis answers again, and still holds the old value: so does A, once it reads L2.
    expect(await a.cache.get(key, () => 'new name')).toBe('old name');
    expect(a.l2.circuitState).toBe('closed');
  });
});
