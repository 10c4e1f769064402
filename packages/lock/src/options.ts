import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import type { RetrySchedule } from './backoff.js';
import { InvalidOptionsError } from './errors.js';

/** Where the lock reports what it cannot throw: failed extensions it will retry, release errors. */
export interface LockLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug?(message: string, meta?: Record<string, unknown>): void;
}

/**
 * Waits `ms` milliseconds. When `signal` aborts it should settle early (resolve or reject,
 * either is fine); a sleep that ignores the signal only delays the cleanup of a released lock.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * How `acquire` retries while the lock is held by someone else (or Redis fails). The delay
 * after failed attempt `n` (from 0) is `min(maxDelay, baseDelay × factor^n)`, reduced by a
 * random fraction of up to `jitter`: with the defaults 100, 200, 400, … 3200, then 5000 ms.
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt (so `retries + 1` attempts in all). `0` tries once;
   * `Infinity` retries until `deadline`.
   * @default 10
   */
  retries?: number;
  /**
   * Delay after the first failed attempt, in ms.
   * @default 100
   */
  baseDelay?: number;
  /**
   * Upper bound of any delay, in ms.
   * @default 5000
   */
  maxDelay?: number;
  /**
   * Growth of the delay from one retry to the next (`1` for a constant delay).
   * @default 2
   */
  factor?: number;
  /**
   * Fraction of each delay that is randomly removed, from 0 (none) to 1: with `0.2` a
   * 1000 ms delay becomes 800–1000 ms.
   * @default 0.2
   */
  jitter?: number;
  /**
   * Overall time budget of one `acquire`, in ms from its start. The last wait is cut short
   * so that one final attempt is made at the deadline; none is started after it.
   * @default undefined (bounded by `retries` only)
   */
  deadline?: number;
}

/** Options of {@link DistributedLock}. */
export interface DistributedLockOptions {
  /**
   * Where locks live: an ioredis `Redis` or `Cluster` client, or an array of clients to
   * independent Redis servers, in which case every lock is a Redlock held on a majority of
   * them. The clients are used as they are and never closed.
   */
  client: Redis | Cluster | readonly (Redis | Cluster)[];
  /**
   * Prepended to lock keys: a lock on `resource` is the key `${prefix}{${resource}}` and its
   * fencing counter `${prefix}{${resource}}:fence` (the braces keep both in one Cluster slot).
   * @default 'lock:'
   */
  prefix?: string;
  /**
   * Lifetime of a lock in ms if it is not extended or released (a crashed holder blocks
   * others for at most this long).
   * @default 30_000
   */
  ttl?: number;
  /**
   * Retry schedule of `acquire` when the lock is taken.
   * @default { retries: 10, baseDelay: 100, maxDelay: 5000, factor: 2, jitter: 0.2 }
   */
  retry?: RetryOptions;
  /**
   * Extend held locks every `extendInterval` ms until they are released. When an extension
   * finds the lock gone, or Redis stays unreachable until the lock's `expiresAt`, the lock's
   * `signal` aborts with a `LockLostError`. Without it the signal aborts at `expiresAt`.
   * @default true
   */
  autoExtend?: boolean;
  /**
   * Milliseconds between two automatic extensions; less than `ttl`.
   * @default ttl / 3
   */
  extendInterval?: number;
  /**
   * Clock drift allowance: a lock is considered valid until `ttl × driftFactor + 2` ms before
   * Redis expires it, measured from before the acquiring command was sent.
   * @default 0.01
   */
  driftFactor?: number;
  /**
   * Milliseconds to wait for one Redis instance to answer one lock command (acquire, extend,
   * release) before counting it as failed. Keeps a hung server from stalling `acquire`
   * beyond its deadline. Keep it well below `ttl`, especially with Redlock.
   * @default 1000
   */
  commandTimeout?: number;
  /**
   * Count acquisitions per resource in a `${key}:fence` counter and return the count as the
   * lock's `fencingToken`. The counter key has no TTL (it must never go back): switch this
   * off when locking an unbounded set of resource names that need no fencing.
   * @default true
   */
  fencing?: boolean;
  /**
   * Current time in ms. Lock expiry (`expiresAt`) and the retry deadline are computed with it.
   * @default performance.timeOrigin + performance.now() (monotonic, so a wall clock
   * stepped backwards cannot make a lock look valid for longer than it is)
   */
  clock?: () => number;
  /**
   * Random number in [0, 1), for retry jitter.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Random bytes for lock tokens (16 per acquisition). Must be cryptographically random:
   * a guessable token lets another client release or extend your lock.
   * @default crypto.randomBytes
   */
  randomBytes?: (size: number) => Uint8Array;
  /**
   * Waits between retries and between automatic extensions.
   * @default a setTimeout-based sleep (unref'd for extensions, so a forgotten lock does
   * not keep the process alive)
   */
  sleep?: Sleep;
  /**
   * Receives warnings the lock cannot throw: an automatic extension that failed and will be
   * retried, a release that failed after `executeWithLock`.
   * @default console (warn and error only)
   */
  logger?: LockLogger;
}

/** Options of one `acquire` or `executeWithLock` call; each defaults to the lock's own. */
export interface AcquireOptions {
  /** Lifetime of this lock in ms. @default the `DistributedLock`'s `ttl` */
  ttl?: number;
  /** Retry schedule of this call, merged over the lock's. @default the `DistributedLock`'s `retry` */
  retry?: RetryOptions;
  /** Extend this lock automatically. @default the `DistributedLock`'s `autoExtend` */
  autoExtend?: boolean;
  /** Milliseconds between automatic extensions. @default the `DistributedLock`'s, or ttl / 3 */
  extendInterval?: number;
  /**
   * Stops waiting for the lock: `acquire` rejects with the signal's reason. A lock already
   * acquired is not affected.
   * @default undefined
   */
  signal?: AbortSignal;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly clients: readonly (Redis | Cluster)[];
  readonly prefix: string;
  readonly ttl: number;
  readonly retry: RetrySchedule;
  readonly autoExtend: boolean;
  readonly extendInterval: number | undefined;
  readonly driftFactor: number;
  readonly commandTimeout: number;
  readonly fencing: boolean;
  readonly clock: () => number;
  readonly random: () => number;
  readonly randomBytes: (size: number) => Uint8Array;
  readonly sleep: Sleep;
  /** The sleep of automatic extensions: the user's, or an unref'd default. */
  readonly watchdogSleep: Sleep;
  readonly logger: LockLogger;
}

/** Settings of one acquisition, after per-call options are merged over the lock's. */
export interface CallSettings {
  readonly ttl: number;
  readonly retry: RetrySchedule;
  readonly autoExtend: boolean;
  readonly extendInterval: number;
  /** `ttl × driftFactor + 2`: how long before Redis expiry the holder stops trusting the lock. */
  readonly drift: number;
  readonly signal: AbortSignal | undefined;
}

const MAX_TIMER_MS = 2_147_483_647;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const hasFunctions = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === 'function');

// Duck-typed rather than `instanceof`, so a client from another copy of ioredis still works.
const isClient = (value: unknown): value is Redis | Cluster =>
  hasFunctions(value, ['evalsha', 'eval']);

const fn = <T>() =>
  z.custom<T>((value) => typeof value === 'function', 'expected a function').optional();

const positiveMs = z.int().positive().max(MAX_TIMER_MS);
const clientSchema = z.custom<Redis | Cluster>(
  isClient,
  'expected an ioredis Redis or Cluster instance',
);

const retrySchema = z
  .strictObject({
    retries: z.union([z.int().nonnegative(), z.literal(Number.POSITIVE_INFINITY)]).optional(),
    baseDelay: z.number().nonnegative().max(MAX_TIMER_MS).optional(),
    maxDelay: z.number().nonnegative().max(MAX_TIMER_MS).optional(),
    factor: z.number().min(1).max(1_000).optional(),
    jitter: z.number().min(0).max(1).optional(),
    deadline: z.number().min(1).max(MAX_TIMER_MS).optional(),
  })
  .optional();

const schema = z
  .strictObject({
    client: z.union(
      // No .readonly(): zod freezes the input even when it is invalid, and freezing a typed
      // array with elements throws a TypeError instead of reporting the field.
      [clientSchema, z.array(clientSchema).min(1, 'expected at least one client')],
      { error: 'expected an ioredis Redis or Cluster instance, or a non-empty array of them' },
    ),
    prefix: z.string().optional(),
    ttl: positiveMs.optional(),
    retry: retrySchema,
    autoExtend: z.boolean().optional(),
    extendInterval: positiveMs.optional(),
    driftFactor: z.number().min(0).max(0.5).optional(),
    commandTimeout: positiveMs.optional(),
    fencing: z.boolean().optional(),
    clock: fn<() => number>(),
    random: fn<() => number>(),
    randomBytes: fn<(size: number) => Uint8Array>(),
    sleep: fn<Sleep>(),
    logger: z
      .custom<LockLogger>(
        (value) => hasFunctions(value, ['warn', 'error']),
        'expected a logger with warn and error methods',
      )
      .optional(),
  })
  .superRefine((options, ctx) => {
    const ttl = options.ttl ?? 30_000;
    if (options.extendInterval !== undefined && options.extendInterval >= ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['extendInterval'],
        message: `must be less than ttl (${ttl} ms)`,
      });
    }
    const retry = options.retry;
    if (retry?.maxDelay !== undefined && retry.maxDelay < (retry.baseDelay ?? 100)) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'maxDelay'],
        message: 'must not be less than retry.baseDelay',
      });
    }
    const prefix = options.prefix;
    if (prefix !== undefined) {
      const open = prefix.indexOf('{');
      if (open >= 0 && prefix[open + 1] === '}') {
        ctx.addIssue({
          code: 'custom',
          path: ['prefix'],
          message: 'must not contain an empty hash tag "{}"',
        });
      }
    }
  });

const consoleLogger: LockLogger = {
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

const monotonicClock = (): number => performance.timeOrigin + performance.now();

function makeSleep(unref: boolean): Sleep {
  return (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (unref) timer.unref();
      signal?.addEventListener('abort', done, { once: true });
    });
}

const defaultSleep = makeSleep(false);
const unrefSleep = makeSleep(true);

function describeIssue(issue: z.core.$ZodIssue): string {
  const where =
    issue.path.length > 0
      ? issue.path.map(String).join('.')
      : issue.code === 'unrecognized_keys'
        ? issue.keys.join(', ')
        : 'options';
  return `${where}: ${issue.message}`;
}

/** Validates `DistributedLock` options and applies defaults; throws {@link InvalidOptionsError}. */
export function resolveOptions(options: DistributedLockOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const detail = issue === undefined ? parsed.error.message : describeIssue(issue);
    throw new InvalidOptionsError(`Invalid DistributedLock options: ${detail}`, {
      cause: parsed.error,
    });
  }
  const o = parsed.data;
  const retry = o.retry ?? {};
  return {
    clients: Array.isArray(o.client) ? [...o.client] : [o.client as Redis | Cluster],
    prefix: o.prefix ?? 'lock:',
    ttl: o.ttl ?? 30_000,
    retry: {
      retries: retry.retries ?? 10,
      baseDelay: retry.baseDelay ?? 100,
      maxDelay: retry.maxDelay ?? 5_000,
      factor: retry.factor ?? 2,
      jitter: retry.jitter ?? 0.2,
      deadline: retry.deadline,
    },
    autoExtend: o.autoExtend ?? true,
    extendInterval: o.extendInterval,
    driftFactor: o.driftFactor ?? 0.01,
    commandTimeout: o.commandTimeout ?? 1_000,
    fencing: o.fencing ?? true,
    clock: o.clock ?? monotonicClock,
    random: o.random ?? Math.random,
    randomBytes: o.randomBytes ?? cryptoRandomBytes,
    sleep: o.sleep ?? defaultSleep,
    watchdogSleep: o.sleep ?? unrefSleep,
    logger: o.logger ?? consoleLogger,
  };
}

function invalid(field: string, message: string): InvalidOptionsError {
  return new InvalidOptionsError(`Invalid acquire options: ${field}: ${message}`);
}

/** `String(value)` that cannot throw: a null-prototype object has no `toString`. */
function show(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function checkNumber(
  field: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)
  ) {
    const kind = integer ? 'an integer' : 'a number';
    throw invalid(field, `expected ${kind} from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/** Settings of a call without per-call options: computed once, at construction. */
export function defaultCallSettings(options: ResolvedOptions): CallSettings {
  return {
    ttl: options.ttl,
    retry: options.retry,
    autoExtend: options.autoExtend,
    extendInterval: options.extendInterval ?? options.ttl / 3,
    drift: options.ttl * options.driftFactor + 2,
    signal: undefined,
  };
}

/**
 * Merges per-call options over the lock's. Hand-written checks rather than zod: this runs on
 * every call that passes options, zod only at construction.
 */
export function resolveCallSettings(
  options: ResolvedOptions,
  defaults: CallSettings,
  call: AcquireOptions,
): CallSettings {
  if (!isObject(call)) throw invalid('options', 'expected an object');
  const ttl =
    call.ttl === undefined ? options.ttl : checkNumber('ttl', call.ttl, 1, MAX_TIMER_MS, true);
  let retry = defaults.retry;
  if (call.retry !== undefined) {
    const r = call.retry;
    if (!isObject(r)) throw invalid('retry', 'expected an object');
    retry = {
      retries:
        r.retries === undefined
          ? retry.retries
          : checkNumber('retry.retries', r.retries, 0, Number.POSITIVE_INFINITY, true),
      baseDelay:
        r.baseDelay === undefined
          ? retry.baseDelay
          : checkNumber('retry.baseDelay', r.baseDelay, 0, MAX_TIMER_MS, false),
      maxDelay:
        r.maxDelay === undefined
          ? retry.maxDelay
          : checkNumber('retry.maxDelay', r.maxDelay, 0, MAX_TIMER_MS, false),
      factor:
        r.factor === undefined
          ? retry.factor
          : checkNumber('retry.factor', r.factor, 1, 1_000, false),
      jitter:
        r.jitter === undefined ? retry.jitter : checkNumber('retry.jitter', r.jitter, 0, 1, false),
      deadline:
        r.deadline === undefined
          ? retry.deadline
          : checkNumber('retry.deadline', r.deadline, 1, MAX_TIMER_MS, false),
    };
    if (retry.maxDelay < retry.baseDelay) {
      throw invalid('retry.maxDelay', 'must not be less than retry.baseDelay');
    }
  }
  if (call.autoExtend !== undefined && typeof call.autoExtend !== 'boolean') {
    throw invalid('autoExtend', 'expected a boolean');
  }
  const extendInterval =
    call.extendInterval === undefined
      ? (options.extendInterval ?? ttl / 3)
      : checkNumber('extendInterval', call.extendInterval, 1, MAX_TIMER_MS, true);
  if (extendInterval >= ttl) {
    throw invalid('extendInterval', `must be less than ttl (${ttl} ms), got ${extendInterval}`);
  }
  const signal = call.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalid('signal', 'expected an AbortSignal');
  }
  return {
    ttl,
    retry,
    autoExtend: call.autoExtend ?? options.autoExtend,
    extendInterval,
    drift: ttl * options.driftFactor + 2,
    signal,
  };
}
