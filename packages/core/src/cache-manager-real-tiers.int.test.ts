import { randomBytes } from 'node:crypto';
import { createCodec } from '@tiercache/compression';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { deferred } from './test-support/index.js';
import { L2_KINDS, type RealRedis, startRealRedis } from './test-support/real-tiers.js';

// The read path (L1 memory tier → L2 Redis tier → loader) against real redis-server
// processes: falsy values, single flight and unreadable L2 payloads.

const codec = createCodec();
const FALSY = [
  ['null', null],
  ['0', 0],
  ["''", ''],
  ['false', false],
] as const;

/** Resolves once Redis holds a payload for `fullKey` (L2 writes after a load run in the background). */
async function untilStored(fx: RealRedis, fullKey: string): Promise<Buffer> {
  let bytes: Buffer | null = null;
  await vi.waitFor(
    async () => {
      bytes = await fx.getRaw(fullKey);
      expect(bytes).not.toBeNull();
    },
    { timeout: 5_000, interval: 10 },
  );
  return bytes as unknown as Buffer;
}

describe.each(L2_KINDS)('CacheManager on real tiers (%s Redis)', (kind) => {
  let fx: RealRedis;
  beforeAll(async () => {
    fx = await startRealRedis(kind);
  });
  afterEach(() => fx.cleanup());
  afterAll(() => fx?.stop());

  describe('falsy values are hits', () => {
    it.each(FALSY)('%s: loaded once, then answered by L1', async (_, value) => {
      const prefix = fx.prefix();
      const { cache, of } = await fx.manager({ prefix });
      const loader = vi.fn(() => value);

      expect(await cache.get('k', loader)).toBe(value);
      await untilStored(fx, `${prefix}k`);
      for (let i = 0; i < 5; i++) expect(await cache.get('k', loader)).toBe(value);

      expect(loader).toHaveBeenCalledTimes(1);
      expect(of('hit')).toEqual(Array(5).fill({ key: 'k', tier: 'l1', stale: false }));
    });

    it.each(FALSY)('%s: loaded once, then answered by L2 when L1 is off', async (_, value) => {
      const prefix = fx.prefix();
      const { cache, of } = await fx.manager({ prefix, l1: false });
      const loader = vi.fn(() => value);

      expect(await cache.get('k', loader)).toBe(value);
      await untilStored(fx, `${prefix}k`);
      for (let i = 0; i < 5; i++) expect(await cache.get('k', loader)).toBe(value);

      expect(loader).toHaveBeenCalledTimes(1);
      expect(of('hit')).toEqual(Array(5).fill({ key: 'k', tier: 'l2', stale: false }));
    });

    it.each(FALSY)('%s: another instance sharing Redis gets an L2 hit', async (_, value) => {
      const prefix = fx.prefix();
      const first = await fx.manager({ prefix });
      await first.cache.get('k', () => value);
      await untilStored(fx, `${prefix}k`);

      const other = await fx.manager({ prefix });
      const loader = vi.fn(() => 'reloaded');

      expect(await other.cache.get('k', loader)).toBe(value);
      expect(await other.cache.get('k', loader)).toBe(value);
      expect(loader).not.toHaveBeenCalled();
      expect(other.of('hit')).toEqual([
        { key: 'k', tier: 'l2', stale: false },
        { key: 'k', tier: 'l1', stale: false },
      ]);
    });
  });

  describe('single flight', () => {
    it('1000 concurrent gets of a missing key make one L2 read and one loader call', async () => {
      const { cache, client, of } = await fx.manager({ prefix: fx.prefix() });
      const mget = vi.spyOn(client, 'mgetBuffer');
      const get = vi.spyOn(client, 'getBuffer');
      const answer = deferred<{ id: number }>();
      const loader = vi.fn(() => answer.promise);

      const gets = Array.from({ length: 1000 }, () => cache.get('k', loader));
      await vi.waitFor(() => expect(loader).toHaveBeenCalled(), { timeout: 5_000, interval: 5 });
      answer.resolve({ id: 42 });
      const results = await Promise.all(gets);

      expect(loader).toHaveBeenCalledTimes(1);
      expect(results).toHaveLength(1000);
      expect(new Set(results).size).toBe(1);
      expect(results[0]).toEqual({ id: 42 });
      expect(mget.mock.calls.length + get.mock.calls.length).toBe(1);
      expect(of('miss')).toHaveLength(1000);
      expect(of('load')).toHaveLength(1);
    });

    it('a loader rejection reaches all 1000 waiters, and the next get retries', async () => {
      const prefix = fx.prefix();
      const { cache } = await fx.manager({ prefix });
      const answer = deferred<string>();
      const boom = new Error('database down');
      const failing = vi.fn(() => answer.promise);

      const gets = Array.from({ length: 1000 }, () => cache.get('k', failing));
      await vi.waitFor(() => expect(failing).toHaveBeenCalled(), { timeout: 5_000, interval: 5 });
      answer.reject(boom);
      const settled = await Promise.allSettled(gets);

      expect(failing).toHaveBeenCalledTimes(1);
      expect(settled.every((r) => r.status === 'rejected' && r.reason === boom)).toBe(true);

      const retry = vi.fn(() => 'recovered');
      expect(await cache.get('k', retry)).toBe('recovered');
      expect(retry).toHaveBeenCalledTimes(1);
      const stored = codec.decode(await untilStored(fx, `${prefix}k`));
      expect(stored).toMatchObject({ v: 'recovered' });
    });
  });

  describe('an unreadable L2 payload is a miss, reported and overwritten', () => {
    // Garbage (random bytes, never starting with the codec's magic byte 0xC1), and a valid
    // codec payload that is not a tiercache entry (another program's value).
    const payloads = [
      {
        name: 'random bytes',
        code: 'E_CORRUPT_PAYLOAD',
        payload: () => Buffer.concat([Buffer.from([0x00]), randomBytes(63)]),
      },
      {
        name: 'a codec payload that is not an entry',
        code: 'E_INVALID_ENTRY',
        payload: () => codec.encode('a plain string'),
      },
    ] as const;

    it.each(payloads)('$name: reloads and emits $code', async ({ payload, code }) => {
      const prefix = fx.prefix();
      await fx.setRaw(`${prefix}k`, payload());
      const { cache, of } = await fx.manager({ prefix });
      const loader = vi.fn(() => ({ fresh: true }));

      expect(await cache.get('k', loader)).toEqual({ fresh: true });

      expect(loader).toHaveBeenCalledTimes(1);
      const errors = of('tier:error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ tier: 'l2', operation: 'get', key: 'k' });
      expect(errors[0]?.error.code).toBe(code);
    });

    it.each(payloads)(
      '$name: the key is overwritten with a readable entry',
      async ({ payload }) => {
        const prefix = fx.prefix();
        const fullKey = `${prefix}k`;
        const bad = payload();
        await fx.setRaw(fullKey, bad);
        const { cache } = await fx.manager({ prefix });
        await cache.get('k', () => ({ fresh: true }));

        let bytes: Buffer | null = null;
        await vi.waitFor(
          async () => {
            bytes = await fx.getRaw(fullKey);
            expect(bytes?.equals(bad)).toBe(false);
          },
          { timeout: 5_000, interval: 10 },
        );
        expect(codec.decode(bytes as unknown as Buffer)).toMatchObject({ v: { fresh: true } });

        const other = await fx.manager({ prefix });
        const loader = vi.fn(() => ({ fresh: false }));
        expect(await other.cache.get('k', loader)).toEqual({ fresh: true });
        expect(loader).not.toHaveBeenCalled();
        expect(other.of('hit')).toEqual([{ key: 'k', tier: 'l2', stale: false }]);
        expect(other.of('tier:error')).toEqual([]);
      },
    );
  });
});
