import { redisTier } from '@tiercache/redis';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, stopWorkers, type Worker } from './test-support/workers.js';

// The stale-set race ("Scaling Memcache at Facebook", NSDI 2013, §3.2.1): a reader misses
// and reads the old row; a writer updates the row and invalidates; the reader then writes
// the old row into the cache, where it stays until its TTL. Reader and writer are separate
// processes sharing one Redis; neither uses the bus, so only the key versions protect L2.
const INTERLEAVINGS = Number(process.env.TC_RACE_TRIALS ?? 200);

let server: RedisServer;
let raw: Redis;
let reader: Worker;
let writer: Worker;
/** Reads what L2 holds, decoded, as any instance would. */
let l2: ReturnType<typeof redisTier>;

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.options());
  l2 = redisTier({ client: raw, prefix: 'race:', logger: { warn() {}, error() {} } });
  const env = { REDIS_PORT: String(server.port), PREFIX: 'race:', CHANNEL: 'updates:race' };
  reader = startWorker({ ...env, NAME: 'reader' });
  writer = startWorker({ ...env, NAME: 'writer' });
  await Promise.all([reader.call('ready'), writer.call('ready')]);
}, 60_000);

afterAll(async () => {
  await stopWorkers([reader, writer].filter(Boolean));
  raw?.disconnect();
  await server?.stop();
});

/** The worst interleaving, forced: read old → update + invalidate → write to the cache. */
async function forcedRace(key: string, versioned: boolean) {
  await raw.set(`db:${key}`, 'old');
  const token = `${key}-token`;
  const read = reader.send('race-read', { key, versioned, token }).answer;
  const loaded = await reader.event((e) => e.event === 'loaded' && e.token === token);
  expect(loaded.row).toBe('old');
  await writer.call('race-write', { key, versioned, value: 'new' });
  await reader.call('continue', { token });
  const { value, l1 } = await read;
  const cached = (await l2.get(key)) as { v: unknown } | undefined;
  return { returned: value, l1, l2: cached?.v ?? null };
}

describe('no stale set after delete (reader and writer in separate processes)', () => {
  it('naive (versionedWrites off): the old value DOES end up cached after the delete', async () => {
    const outcome = await forcedRace('naive', false);

    expect(outcome.returned).toBe('old'); // the reader's own caller gets what it read
    expect(outcome.l2).toBe('old'); // …and so does everyone after it: the race is real
    expect(outcome.l1).toBe('old');
  });

  it('versionedWrites: the same interleaving leaves neither L2 nor the reader’s L1 holding the old value', async () => {
    const outcome = await forcedRace('versioned', true);

    expect(outcome.returned).toBe('old');
    expect(outcome.l2).toBeNull();
    expect(outcome.l1).toBeNull();
  });

  it(`versionedWrites: over ${INTERLEAVINGS} random interleavings L2 never ends holding a value older than the row`, async () => {
    const stale = { versioned: 0, naive: 0 };
    for (let i = 0; i < INTERLEAVINGS; i++) {
      for (const versioned of [true, false]) {
        const key = `random-${versioned ? 'v' : 'n'}-${i}`;
        await raw.set(`db:${key}`, 'old');
        // Random delays shift the reader's fill and the writer's update+delete around each
        // other. (The reader's own L1 may keep `old` when its whole load came before the
        // write: that is what the bus is for, and these instances have none.)
        await Promise.all([
          reader.call('race-read', { key, versioned, delay: Math.floor(Math.random() * 4) }),
          writer.call('race-write', {
            key,
            versioned,
            value: 'new',
            delay: Math.floor(Math.random() * 4),
          }),
        ]);
        const cached = ((await l2.get(key)) as { v: unknown } | undefined)?.v;
        if (cached === 'old') stale[versioned ? 'versioned' : 'naive']++;
      }
    }
    console.info(
      `[race] ${INTERLEAVINGS} random interleavings each: L2 left holding the old row — ` +
        `versionedWrites ${stale.versioned}, naive ${stale.naive}`,
    );
    expect(stale.versioned).toBe(0);
  }, 300_000);
});
