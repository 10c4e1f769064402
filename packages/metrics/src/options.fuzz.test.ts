import { fuzzOptions } from '@tiercache/test-utils';
import { describe, expect, it } from 'vitest';
import { CacheAnalyzer } from './cache-analyzer.js';
import { CacheMetrics } from './cache-metrics.js';
import { InvalidOptionsError } from './errors.js';
import { RedisMemoryMonitor } from './redis-memory-monitor.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const ratio = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);
const isFn = (v: unknown): boolean => typeof v === 'function';

fuzzOptions('CacheMetrics', {
  build: (o) => new CacheMetrics(o as never),
  error: InvalidOptionsError,
  fields: {
    l1Tier: opt((v) => has(v, 'on')),
    l2Tier: opt(isObj),
    analyzer: opt((v) => has(v, 'recordKey')),
    clock: opt(isFn),
    health: opt((v) => isObj(v) && !Array.isArray(v) && Object.keys(v).length === 0),
    'health.minHitRate': opt(ratio),
    'health.minL1Share': opt(ratio),
    'health.maxEvictionRate': opt(ratio),
    'health.minAccesses': opt((v) => isInt(v) && v >= 0),
    'health.window': opt((v) => v === 'total' || v === 'minute'),
    maxSeries: opt((v) => isInt(v) && v > 0),
  },
});

fuzzOptions('CacheAnalyzer', {
  build: (o) => new CacheAnalyzer(o as never),
  error: InvalidOptionsError,
  fields: {
    classify: opt(isFn),
    maxOperations: opt((v) => isInt(v) && v > 0),
    otherOperation: opt((v) => typeof v === 'string' && v !== ''),
    minAccesses: opt((v) => isInt(v) && v >= 0),
  },
});

const timers = { setInterval: () => 0, clearInterval: () => {} };
fuzzOptions('RedisMemoryMonitor', {
  build: (o) => new RedisMemoryMonitor(o as never),
  base: { client: { info: async () => '' }, timers },
  error: InvalidOptionsError,
  fields: {
    client: (v) => has(v, 'info'),
    interval: opt((v) => isInt(v) && v > 0 && v <= 2_147_483_647),
    threshold: opt((v) => typeof v === 'number' && v > 0 && v <= 1),
    clock: opt(isFn),
    timers: opt((v) => has(v, 'setInterval', 'clearInterval')),
  },
});

describe('RedisMemoryMonitor interval (regression)', () => {
  // Found by the property above: setInterval runs every 1 ms for a delay above 2^31 − 1, so
  // `interval: 3e9` sent INFO to Redis a thousand times a second.
  it('an interval above 2^31 - 1 ms is refused', () => {
    expect(
      () => new RedisMemoryMonitor({ client: { info: async () => '' }, interval: 3_000_000_000 }),
    ).toThrow(InvalidOptionsError);
  });
});
