import { gzipSync } from 'node:zlib';
import { createCodec } from '@tiercache/compression';
import { memoryTier } from '@tiercache/l1';
import { redisTier } from '@tiercache/redis';
import { type RedisServer, startRedis } from '@tiercache/test-servers';
import { fuzzRuns, fuzzTimeout } from '@tiercache/test-utils';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheManager } from './cache-manager.js';
import { InvalidKeyError } from './errors.js';
import type { TierErrorEvent } from './events.js';

vi.setConfig({ testTimeout: fuzzTimeout(60_000) });

// Keys, values and stored bytes fuzzed through a real Redis: CacheManager over a memory L1
// and a Redis L2, with a second manager (no L1) standing for another instance that reads L2.

const RUNS = fuzzRuns(60);
const PREFIX = 'fz:';
const silent = { warn: () => {}, error: () => {}, debug: () => {} };

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Polls `condition` until it holds (fails after 10 s). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A manager on real tiers; `errors` collects its `tier:error` events. */
function manager(l1: boolean) {
  const errors: TierErrorEvent[] = [];
  const cache = new CacheManager({
    ...(l1 ? { l1: memoryTier({ max: 1000 }) } : {}),
    l2: redisTier({ client: redis, prefix: PREFIX, commandTimeout: 5_000, logger: silent }),
    logger: silent,
    earlyRefresh: false,
    jitter: 0,
  });
  cache.on('tier:error', (e) => errors.push(e));
  return { cache, errors };
}

const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

/** Any string at all as a key, including lone surrogates and a 1 MiB key. */
const anyKey = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 32 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.constantFrom('\ud800', '\udc00', 'a\ud800b', '\u0000', '*', '[', 'x'.repeat(1 << 20)),
);

describe('keys through a real Redis (fuzz)', () => {
  it('a key written by one instance is read from L2 by another; distinct keys never share an entry', async () => {
    const writer = manager(true);
    const reader = manager(false);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyKey, anyKey, async (a, b) => {
        fc.pre(a !== b);
        if (!wellFormed(a)) {
          // Regression: 'k\ud800' and 'k\udc00' used to share one Redis entry (both sent as
          // U+FFFD); such keys are now refused before they reach any tier.
          await expect(writer.cache.set(a, 1)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(reader.cache.get(a, () => 1)).rejects.toBeInstanceOf(InvalidKeyError);
          return;
        }
        fc.pre(wellFormed(b));
        const va = { n: n++, key: a.length };
        await writer.cache.set(a, va);
        const loadA = vi.fn(() => 'reloaded');
        expect(await reader.cache.get(a, loadA)).toEqual(va);
        expect(loadA).not.toHaveBeenCalled();
        // b was never written: another instance must miss, whatever a and b look like.
        const loadB = vi.fn(() => 'b');
        expect(await reader.cache.get(b, loadB)).toBe('b');
        expect(loadB).toHaveBeenCalledTimes(1);
        await writer.cache.deleteMany([a, b]);
      }),
      {
        numRuns: RUNS,
        // Lone surrogates: both become U+FFFD (EF BF BD) when ioredis writes them as UTF-8.
        examples: [
          ['\ud800', '\udc00'],
          ['k\ud800', 'k\ud801'],
        ],
      },
    );
    expect(writer.errors).toEqual([]);
    expect(reader.errors).toEqual([]);
    await writer.cache.close();
    await reader.cache.close();
  });
});

function cyclic(): unknown {
  const o: Record<string, unknown> = { name: 'loop' };
  o.self = o;
  return o;
}

function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const awkward = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  fc.constantFrom<unknown>(
    10n,
    { id: 1, big: 10n },
    cyclic(),
    new Date(0),
    Buffer.from('bytes'),
    new Map([[1, 2]]),
    { u: undefined, n: Number.NaN, z: -0 },
    deep(10_000),
    { rows: 'x'.repeat(2 << 20) },
  ),
);

describe('values through CacheManager + a real Redis (fuzz)', () => {
  it('another instance reads the JSON round trip; an unencodable value is counted, never stored', async () => {
    const writer = manager(true);
    const reader = manager(false);
    let i = 0;
    await fc.assert(
      fc.asyncProperty(awkward, async (value) => {
        fc.pre(value !== undefined);
        const key = `v:${i++}`;
        let json: string | undefined;
        try {
          json = JSON.stringify(value);
        } catch {
          json = undefined;
        }
        const before = writer.errors.length;
        // The caller always gets the loader's value itself.
        expect(await writer.cache.get(key, () => value)).toBe(value);
        // The L2 write is not awaited by get: wait for it to land or to be reported.
        await until(
          async () =>
            writer.errors.length > before || (await redis.exists(`${PREFIX}${key}`)) === 1,
        );
        const stored = await redis.getBuffer(`${PREFIX}${key}`);
        if (json === undefined) {
          // BigInt, cycles: a SerializationError counted as a tier:error, L2 left untouched.
          expect(stored).toBeNull();
          const errors = writer.errors.slice(before);
          expect(errors.map((e) => [e.tier, e.operation, e.error.code])).toEqual([
            ['l2', 'set', 'E_SERIALIZATION'],
          ]);
          const load = vi.fn(() => 'fresh');
          expect(await reader.cache.get(key, load)).toBe('fresh');
          // The writer's own L1 still holds the value itself.
          expect(await writer.cache.get(key, () => 'other')).toBe(value);
        } else {
          expect(writer.errors.length).toBe(before);
          const load = vi.fn(() => 'fresh');
          expect(await reader.cache.get(key, load)).toEqual(JSON.parse(json));
          expect(load).not.toHaveBeenCalled();
        }
        await writer.cache.delete(key);
      }),
      { numRuns: RUNS },
    );
    await writer.cache.close();
    await reader.cache.close();
  });
});

/** Bytes another program (or a damaged write) could leave under a cache key. */
const strayBytes = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.tuple(fc.jsonValue(), fc.nat()).map(([v, cut]) => {
    const full = createCodec({ compression: 'gzip', threshold: 0, minSavings: 0 }).encode({
      v,
      pad: 'p'.repeat(300),
    });
    return full.subarray(0, cut % full.length);
  }),
  fc
    .uint8Array({ minLength: 1, maxLength: 32 })
    .map((body) => Buffer.concat([Buffer.from([0xc1, 1, 0x11, 0, 0, 1, 0]), body])),
  fc.integer({ min: 100, max: 0xffffffff }).map((n) => {
    const header = Buffer.from([0xc1, 1, 0x11, 0, 0, 0, 0]);
    header.writeUInt32BE(n, 3);
    return Buffer.concat([header, gzipSync('{"v":1}')]);
  }),
  fc.constantFrom(
    Buffer.from([0xc1]),
    Buffer.from([0xc1, 2, 0x10, 0x31]),
    Buffer.from([0x1f, 0x8b]),
  ),
);

describe('bytes found in Redis (fuzz)', () => {
  it('get(key, loader): counts the corrupt payload, reloads, and overwrites the key', async () => {
    const { cache, errors } = manager(false);
    let i = 0;
    await fc.assert(
      fc.asyncProperty(strayBytes, async (bytes) => {
        const key = `corrupt:${i++}`;
        await redis.set(`${PREFIX}${key}`, bytes, 'PX', 60_000);
        const before = errors.length;
        const value = { reloaded: i };
        const loader = vi.fn(() => value);
        expect(await cache.get(key, loader)).toEqual(value);
        expect(loader).toHaveBeenCalledTimes(1);
        const codes = errors.slice(before).map((e) => [e.operation, e.error.code]);
        // A stray value that happens to decode but is not a cache entry is a miss as well;
        // bytes that cannot be decoded are counted as E_CORRUPT_PAYLOAD.
        expect(codes.every(([op, code]) => op === 'get' && code === 'E_CORRUPT_PAYLOAD')).toBe(
          true,
        );
        // The reload replaced the bytes: a second read is an L2 hit on the new entry.
        const again = vi.fn(() => 'again');
        expect(await cache.get(key, again)).toEqual(value);
        expect(again).not.toHaveBeenCalled();
        await cache.delete(key);
      }),
      { numRuns: RUNS },
    );
    // Nearly every stray payload is undecodable (a bare JSON number may be read, then refused).
    expect(errors.length).toBeGreaterThan(RUNS / 2);
    await cache.close();
  });
});
