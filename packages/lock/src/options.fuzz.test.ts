import {
  fuzzOptions,
  fuzzRuns,
  fuzzTimeout,
  oddValue,
  optionRejection,
  withField,
} from '@tiercache/test-utils';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { DistributedLock } from './distributed-lock.js';
import { InvalidOptionsError } from './errors.js';
import type { AcquireOptions, DistributedLockOptions } from './options.js';
import { scriptedClient } from './test-support/scripted-client.js';

vi.setConfig({ testTimeout: fuzzTimeout(15_000) });

const MAX_TIMER_MS = 2_147_483_647;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const has = (v: unknown, ...names: string[]): boolean =>
  isObj(v) && names.every((n) => typeof v[n] === 'function');
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const timerMs = (v: unknown): boolean => isInt(v) && v > 0 && v <= MAX_TIMER_MS;
const isFn = (v: unknown): boolean => typeof v === 'function';
const opt =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || check(v);
const emptyObject = (v: unknown): boolean =>
  isObj(v) && !Array.isArray(v) && Object.keys(v).length === 0;

const { client } = scriptedClient(() => 1);
const logger = { warn: () => {}, error: () => {} };

/** Retry fields, as the constructor and acquire() accept them (maxDelay ≥ the default 100). */
const RETRY = {
  'retry.retries': opt((v) => (isInt(v) && v >= 0) || v === Number.POSITIVE_INFINITY),
  'retry.baseDelay': opt((v) => isNum(v) && v >= 0 && v <= MAX_TIMER_MS),
  'retry.maxDelay': opt((v) => isNum(v) && v >= 100 && v <= MAX_TIMER_MS),
  'retry.factor': opt((v) => isNum(v) && v >= 1 && v <= 1_000),
  'retry.jitter': opt((v) => isNum(v) && v >= 0 && v <= 1),
  'retry.deadline': opt((v) => isNum(v) && v >= 1 && v <= MAX_TIMER_MS),
};

fuzzOptions('DistributedLock', {
  build: (o) => new DistributedLock(o as unknown as DistributedLockOptions),
  base: { client, logger },
  error: InvalidOptionsError,
  fields: {
    client: (v) => has(v, 'evalsha', 'eval'),
    prefix: opt((v) => typeof v === 'string' && !v.includes('{}')),
    ttl: opt(timerMs),
    retry: opt(emptyObject),
    ...RETRY,
    autoExtend: opt((v) => typeof v === 'boolean'),
    // Must stay below the default ttl (30 s).
    extendInterval: opt((v) => timerMs(v) && (v as number) < 30_000),
    driftFactor: opt((v) => isNum(v) && v >= 0 && v <= 0.5),
    commandTimeout: opt(timerMs),
    fencing: opt((v) => typeof v === 'boolean'),
    clock: opt(isFn),
    random: opt(isFn),
    randomBytes: opt(isFn),
    sleep: opt(isFn),
    logger: opt((v) => has(v, 'warn', 'error')),
  },
});

/** acquire() options (checked by hand on every call, not by zod). */
const CALL: Record<string, (v: unknown) => boolean> = {
  ttl: opt(timerMs),
  retry: opt(isObj),
  ...RETRY,
  // Any integer (not only a safe one) or Infinity.
  'retry.retries': opt(
    (v) => (isNum(v) && Number.isInteger(v) && v >= 0) || v === Number.POSITIVE_INFINITY,
  ),
  // The default retry.maxDelay is 5000: a larger baseDelay alone is refused.
  'retry.baseDelay': opt((v) => isNum(v) && v >= 0 && v <= 5_000),
  autoExtend: opt((v) => typeof v === 'boolean'),
  extendInterval: opt((v) => timerMs(v) && (v as number) < 30_000),
  signal: opt((v) => v instanceof AbortSignal),
};

describe('DistributedLock acquire options (fuzz)', () => {
  it.each(Object.keys(CALL))(
    '%s: acquire rejects with InvalidOptionsError naming it, before any Redis call',
    async (field) => {
      const valid = CALL[field]!;
      const { client: quiet, calls } = scriptedClient(() => 1);
      const locks = new DistributedLock({ client: quiet, logger, autoExtend: false });
      await fc.assert(
        fc.asyncProperty(
          oddValue.filter((v) => !valid(v)),
          async (value) => {
            let thrown: unknown;
            try {
              await locks.acquire('r', withField({}, field, value) as AcquireOptions);
            } catch (error) {
              thrown = error;
            }
            const result = optionRejection(
              () => {
                if (thrown !== undefined) throw thrown;
              },
              InvalidOptionsError,
              'E_INVALID_OPTIONS',
              field,
            );
            expect(result).toEqual({ ok: true });
          },
        ),
        { numRuns: fuzzRuns(150) },
      );
      expect(calls).toEqual([]);
    },
  );
});
