import { fuzzOptions } from '@tiercache/test-utils';
import { describe, expect, it } from 'vitest';
import { bloomGuard } from './bloom-guard.js';
import { InvalidOptionsError } from './errors.js';
import { inProcessBloom } from './in-process-bloom.js';
import { redisBloom } from './redis-bloom.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const timerMs = (v: unknown): boolean => posInt(v) && (v as number) <= 2_147_483_647;
const isFn = (v: unknown): boolean => typeof v === 'function';
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);
const fail = () => Promise.reject(new Error('not connected'));

// expectedItems is fuzzed only with wrong values; a valid huge one would allocate up to 512 MiB.
const sizing = {
  expectedItems: (v: unknown) => posInt(v) && (v as number) <= 1_000,
  falsePositiveRate: opt((v) => typeof v === 'number' && v > 0 && v < 1),
};

fuzzOptions('inProcessBloom', {
  build: (o) => inProcessBloom(o as never),
  base: { expectedItems: 100 },
  error: InvalidOptionsError,
  fields: {
    ...sizing,
    hash: opt(isFn),
    // 100 items at 1 % is 120 bytes.
    data: opt((v) => v instanceof Uint8Array && v.length === 120),
  },
});

fuzzOptions('redisBloom', {
  build: (o) => redisBloom(o as never),
  base: {
    expectedItems: 100,
    key: 'bf',
    client: { evalsha: fail, eval: fail, pipeline: () => ({}), getBuffer: fail, bitcount: fail },
  },
  error: InvalidOptionsError,
  fields: {
    ...sizing,
    client: (v) => has(v, 'evalsha', 'eval', 'pipeline', 'getBuffer', 'bitcount'),
    key: (v) => typeof v === 'string' && v !== '',
    hash: opt(isFn),
    batchSize: opt(posInt),
    leaseTtl: opt(timerMs),
    onMissing: opt(isFn),
  },
});

fuzzOptions('bloomGuard', {
  build: (o) => bloomGuard(o as never),
  base: { filter: { has: () => true } },
  error: InvalidOptionsError,
  fields: {
    filter: (v) => has(v, 'has'),
    timeout: opt((v) => v === false || timerMs(v)),
    onError: opt(isFn),
  },
});

describe('bloom sizing limits', () => {
  it('a filter larger than a Redis string (2^32 bits) is refused, not allocated', () => {
    expect(() => inProcessBloom({ expectedItems: Number.MAX_SAFE_INTEGER })).toThrow(
      InvalidOptionsError,
    );
    expect(() =>
      inProcessBloom({ expectedItems: 1_000_000_000, falsePositiveRate: Number.MIN_VALUE }),
    ).toThrow(InvalidOptionsError);
  });
});
