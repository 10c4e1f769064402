import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError, InvalidValueError } from './errors.js';
import {
  backoffDelay,
  compareStreamIds,
  type RedisWriteBehindOptions,
  redisWriteBehind,
  streamIdSequence,
} from './write-behind.js';

// lazyConnect: these tests never send a command, so no Redis is needed (the behaviour
// against Redis is in write-behind.int.test.ts).
const client = new Redis({ lazyConnect: true });
afterAll(() => client.disconnect());

const streamId = fc
  .tuple(fc.bigInt({ min: 0n, max: 9_000_000_000_000n }), fc.bigInt({ min: 0n, max: 999_999n }))
  .map(([ms, seq]) => `${ms}-${seq}`);

describe('stream ids', () => {
  it('sequence is ms × 1e6 + seq', () => {
    expect(streamIdSequence('1700000000123-7')).toBe(1_700_000_000_123_000_007n);
  });

  it('sequence orders like the ids (property)', () => {
    fc.assert(
      fc.property(streamId, streamId, (a, b) => {
        const bySequence = Math.sign(Number(streamIdSequence(a) - streamIdSequence(b)));
        expect(bySequence).toBe(compareStreamIds(a, b));
      }),
    );
  });

  it('compares numerically, not as text', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('5-10', '5-9')).toBe(1);
    expect(compareStreamIds('5-9', '5-9')).toBe(0);
  });

  it('rejects a malformed id', () => {
    expect(() => streamIdSequence('nope')).toThrow(InvalidValueError);
  });
});

describe('backoffDelay', () => {
  const schedule = { baseDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0.5 };

  it('grows by factor from baseDelay and is capped at maxDelay', () => {
    const delays = [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, schedule, () => 0));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('only ever shortens by up to jitter (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(60),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const delay = backoffDelay(n, schedule, () => r);
          const full = Math.min(100 * 2 ** n, 1_000);
          expect(delay).toBeLessThanOrEqual(full);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(full * 0.5));
        },
      ),
    );
  });
});

describe('redisWriteBehind options', () => {
  const base = { client, stream: 'wb' };

  it.each([
    [{ stream: '' }, /^Invalid redisWriteBehind options: stream: /],
    [{ client: {} }, /client: expected an ioredis/],
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ backoff: { factor: 0.5 } }, /backoff\.factor/],
    [{ concurrency: 0 }, /concurrency/],
    [{ claimIdleMs: -1 }, /claimIdleMs/],
    [{ deadLetterStream: 'wb' }, /deadLetterStream: must differ from stream/],
    [{ cache: {} }, /cache: expected an object with a set/],
    [{ bogus: 1 }, /bogus/],
  ])('rejects a bad option, naming it (%#)', (patch, message) => {
    const build = () => redisWriteBehind({ ...base, ...patch } as RedisWriteBehindOptions);
    expect(build).toThrow(InvalidOptionsError);
    expect(build).toThrow(message);
  });

  it('accepts maxAttempts: Infinity', () => {
    expect(() =>
      redisWriteBehind({ ...base, maxAttempts: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
  });

  it('names the dead-letter stream after the stream by default', () => {
    const queue = redisWriteBehind(base);
    expect(queue.deadLetterStream).toBe('wb:dead');
    expect(queue.group).toBe('tiercache-write-behind');
    expect(queue.consumer).toMatch(/-\d+-[0-9a-f]{8}$/);
  });

  it('refuses to start a worker without apply', async () => {
    await expect(redisWriteBehind(base).start()).rejects.toThrow(/apply: required/);
  });

  it.each([
    ['', 1, /key must be a non-empty string/],
    ['k', undefined, /must not be undefined/],
    ['k', 10n, /cannot serialize/],
    ['k', () => 1, /does not serialize to text/],
  ])('enqueue rejects %j → %s before sending anything', async (key, value, message) => {
    const queue = redisWriteBehind<unknown>(base);
    const rejected = queue.enqueue(key, value);
    await expect(rejected).rejects.toBeInstanceOf(InvalidValueError);
    await expect(queue.enqueue(key, value)).rejects.toThrow(message);
    expect(queue.stats.enqueued).toBe(0);
  });
});
