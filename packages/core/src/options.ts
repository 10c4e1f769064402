import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import type { InvalidationBus, PatternMatcher, TagVersionStore } from './invalidation.js';
import type { Locker } from './locker.js';
import type { CacheTier } from './tier.js';

/**
 * Where the manager reports tier failures and background refresh failures. `console` by
 * default; pass your application logger (pino, winston…) or a no-op.
 */
export interface CacheLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug?(message: string, meta?: Record<string, unknown>): void;
}

/**
 * A TTL policy, e.g. one of `@tiercache/ttl`'s endpoint policies. Only `ttl` is read.
 */
export interface TtlPolicyLike {
  /** Time to live in SECONDS (the unit `@tiercache/ttl` policies use). */
  readonly ttl: number;
}

/** Early refresh (XFetch) setting: on/off, or on with a custom `beta`. */
export type EarlyRefreshOption = boolean | { readonly beta: number };

/**
 * Stampede protection across processes (needs a `locker` and an `l2`): on a miss, one process
 * takes a short lock on the key and loads; the others poll L2 until the value appears, then
 * fall back to loading themselves after `waitTimeout`.
 */
export interface StampedeOptions {
  /**
   * Lifetime of the lock in ms: how long a holder that died mid-load keeps the others from
   * taking over the lock (they still fall back after `waitTimeout`). A locker that extends
   * held locks (`DistributedLock`'s `autoExtend`) keeps it for as long as the load runs.
   * @default 10_000
   */
  readonly lockTtl?: number;
  /**
   * How long a process that found the lock taken waits for the value to appear in L2, in
   * ms, before loading it itself.
   * @default 5_000
   */
  readonly waitTimeout?: number;
  /**
   * First delay between two L2 polls while waiting, in ms; each next delay is 1.5 times
   * longer, up to 8 times this. Each poll reads L2 and, when the value is not there yet,
   * tries the lock once more (so a waiter takes over as soon as a dead holder's lock expires
   * or a holder gives up).
   * @default 50
   */
  readonly pollInterval?: number;
}

/** Stampede protection setting: on/off, or on with some settings changed. */
export type StampedeOption = boolean | StampedeOptions;

/** Settings of `redoFailedDeletes` (see {@link CacheManagerOptions.redoFailedDeletes}). */
export interface RedoFailedDeletesOptions {
  /**
   * Milliseconds between two redos while keys are pending (no timer runs when none are).
   * A redo also starts at once when the L2 reports its circuit closed.
   * @default 1_000
   */
  readonly interval?: number;
  /**
   * Most keys remembered. Past it the key whose last failure is oldest is given up (emitted as
   * `redo:overflow`, counted in `redoStats.dropped`, logged at error level), never silently.
   * @default 10_000
   */
  readonly maxKeys?: number;
}

/** `redoFailedDeletes` setting: on/off, or on with some settings changed. */
export type RedoFailedDeletesOption = boolean | RedoFailedDeletesOptions;

/** Options of {@link CacheManager.set}, also accepted by `get`/`getMany`/`wrap`. */
export interface SetOptions {
  /**
   * Fresh time to live in milliseconds. Wins over `policy`.
   * @default the manager's `ttl`
   */
  readonly ttl?: number;
  /**
   * TTL from a policy whose `ttl` is in SECONDS; used when `ttl` is not given.
   * @default undefined
   */
  readonly policy?: TtlPolicyLike;
  /**
   * Jitter ratio in [0, 1]: the TTL is shortened by up to this fraction, at random, so keys
   * written together do not expire together. Never lengthens a TTL.
   * @default the manager's `jitter`
   */
  readonly jitter?: number;
  /**
   * TTL in milliseconds of a cached `null` (negative caching).
   * @default the manager's `negativeTtl`
   */
  readonly negativeTtl?: number;
  /**
   * How long past its fresh TTL an entry may still be served stale, in milliseconds. The tier
   * keeps the entry for fresh TTL + `maxStale`. A read also caps staleness at its own
   * `maxStale`. `0` disables stale serving.
   * @default the manager's `maxStale`
   */
  readonly maxStale?: number;
  /**
   * Upper bound in milliseconds for the entry's lifetime in L1, e.g. to bound how long an
   * instance can serve a value another instance has replaced. Never longer than the entry.
   * @default the entry's lifetime
   */
  readonly l1Ttl?: number;
  /**
   * Tags of the entry (e.g. `['agent:42', 'leaderboard']`): `invalidateTags` of any of them
   * makes it stale everywhere. Their versions are read (from `tagVersions`) before the loader
   * runs and stamped on the entry. Needs the manager's `tagVersions`.
   * @default undefined (untagged)
   */
  readonly tags?: readonly string[];
}

/** Options of {@link CacheManager.get}, `getMany` and `wrap`. */
export interface GetOptions extends SetOptions {
  /**
   * When a stale value exists, how long to wait for the loader (ms) before returning the
   * stale value and letting the load finish in the background. `undefined` or `0`: return
   * the stale value at once (stale-while-revalidate). `Infinity`: wait for the loader and
   * fall back to the stale value only if it fails.
   * @default the manager's `softTimeout`
   */
  readonly softTimeout?: number;
  /**
   * Milliseconds after which the loader's `AbortSignal` fires and the load fails with
   * `LoaderTimeoutError` (a stale value is served instead when one is allowed). At most
   * 2_147_483_647 (setTimeout's limit), like `softTimeout` and the stampede delays.
   * @default the manager's `hardTimeout`
   */
  readonly hardTimeout?: number;
  /**
   * Probabilistic early refresh (XFetch). `{ beta }` > 1 refreshes earlier, < 1 later.
   * @default the manager's `earlyRefresh`
   */
  readonly earlyRefresh?: EarlyRefreshOption;
  /**
   * Stampede protection for this call's miss: `false` loads without the lock, an object
   * overrides some of the manager's settings. Without a `locker` and an `l2`, nothing to do.
   * @default the manager's `stampede`
   */
  readonly stampede?: StampedeOption;
}

/** Options of the {@link CacheManager} constructor. */
export interface CacheManagerOptions {
  /**
   * The in-process tier, e.g. `memoryTier()` from `@tiercache/l1`. A synchronous tier keeps
   * L1 hits free of extra microtasks.
   * @default undefined (no L1)
   */
  readonly l1?: CacheTier;
  /**
   * The shared tier, e.g. `redisTier()` from `@tiercache/redis`.
   * @default undefined (no L2)
   */
  readonly l2?: CacheTier;
  /**
   * Fresh time to live in milliseconds.
   * @default 300_000
   */
  readonly ttl?: number;
  /**
   * Jitter ratio in [0, 1]; TTLs are shortened by a random fraction up to this ratio.
   * @default 0.1
   */
  readonly jitter?: number;
  /**
   * TTL in milliseconds of a cached `null`.
   * @default 60_000
   */
  readonly negativeTtl?: number;
  /**
   * How long past its fresh TTL an entry may be served stale (stale-while-revalidate and
   * fail-safe), in milliseconds. `0` disables stale serving.
   * @default 0
   */
  readonly maxStale?: number;
  /**
   * See {@link GetOptions.softTimeout}.
   * @default undefined (a stale value is returned at once)
   */
  readonly softTimeout?: number;
  /**
   * See {@link GetOptions.hardTimeout}.
   * @default undefined (no hard timeout)
   */
  readonly hardTimeout?: number;
  /**
   * Probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a fresh hit starts a
   * background refresh when `now - delta * beta * ln(random()) >= freshUntil`, `delta` being
   * the last load's duration.
   * @default true (beta 1)
   */
  readonly earlyRefresh?: EarlyRefreshOption;
  /**
   * A distributed lock (e.g. `@tiercache/lock`'s `DistributedLock`, created with
   * `fencing: false` and a prefix of its own) for stampede protection across processes: N
   * processes missing the same key cause one load. Used only with an `l2`.
   * @default undefined (single flight within each process only)
   */
  readonly locker?: Locker;
  /**
   * Stampede protection settings; with a `locker`, on by default. `false` turns it off unless
   * a call asks for it (`get(key, loader, { stampede: true })`).
   * @default true when a `locker` is given
   */
  readonly stampede?: StampedeOption;
  /**
   * Carries invalidations to the other instances sharing the L2 (and theirs to this one):
   * `delete`, `deleteMany`, `set`, `clear`, `invalidateTags` and `invalidatePattern` publish a
   * message once L2 is done; messages from others drop the same entries from this L1. E.g.
   * `redisBus()` from `@tiercache/invalidation`. The manager subscribes at construction and
   * unsubscribes in `close()`; closing the bus is yours.
   * @default undefined (L1 is never told about other instances' changes)
   */
  readonly bus?: InvalidationBus;
  /**
   * Where tag versions live, for `tags` and `invalidateTags`; e.g. `redisTagVersions()` from
   * `@tiercache/invalidation`. Every instance sharing the L2 must use the same store.
   * @default undefined (tags are rejected)
   */
  readonly tagVersions?: TagVersionStore;
  /**
   * Versioned writes against the stale-set race: a load reads the key's version before its
   * loader runs and writes L2 only if the version is unchanged (`delete` and `set` change
   * it), so a value read before a delete in any process is never cached after it. Needs an
   * L2 that implements `VersionedTier` (`redisTier`); turn it on in every instance sharing
   * the L2.
   * @default false
   */
  readonly versionedWrites?: boolean;
  /**
   * Redo the L2 deletes that failed (L2 timed out, its circuit was open, the connection was
   * down). Such a delete leaves the old value in L2 until its TTL, while the bus makes every
   * other instance drop its L1 copy and read that old value back from L2. With this on (the
   * default) each key whose L2 delete failed in `delete`, `invalidate`, `deleteMany` or
   * `set(key, undefined)`, or whose L2 write failed in `set()`, is remembered and deleted from L2 again (versioned, with
   * `versionedWrites`), dropped from this L1, and published on the bus again — every
   * `interval` ms while any is pending, and at once when the L2 reports its circuit closed
   * (a tier with `on('circuit', state)`, like `redisTier`). Keys whose `keys` bus message
   * failed (from `set`, `delete`, `deleteMany`) are published again the same way. A redo always
   * deletes, even when the key was written again since: that costs one miss, never a stale
   * read. `false` turns it off.
   * @default true ({ interval: 1_000, maxKeys: 10_000 })
   */
  readonly redoFailedDeletes?: RedoFailedDeletesOption;
  /**
   * Compiles an `invalidatePattern` glob into a key predicate, so that only matching L1
   * entries are dropped (here and on `pattern` bus messages); e.g. `globMatcher` from
   * `@tiercache/keys`. Without it, or with an L1 that cannot list its keys, a pattern
   * invalidation clears L1 entirely.
   * @default undefined
   */
  readonly matchPattern?: PatternMatcher;
  /**
   * Clock in milliseconds, used for freshness, load durations and log throttling.
   * @default `Date.now()` cached for at most 1 ms or 1000 reads (like lru-cache's
   * `ttlResolution`), because reading the clock is the most expensive part of an L1 hit on
   * virtualised hosts. Pass `Date.now` for an exact clock.
   */
  readonly clock?: () => number;
  /**
   * Random source in [0, 1), used for jitter and early refresh.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Where tier failures and background refresh failures are logged (throttled).
   * @default console
   */
  readonly logger?: CacheLogger;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

const tierSchema = z.custom<CacheTier>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CacheTier).name === 'string' &&
    isFunction((v as CacheTier).get) &&
    isFunction((v as CacheTier).getMany) &&
    isFunction((v as CacheTier).set) &&
    isFunction((v as CacheTier).delete) &&
    isFunction((v as CacheTier).clear),
  { message: 'expected a CacheTier (name, get, getMany, set, delete, clear)' },
);

const ms = z.number().positive().finite();
/**
 * Longest delay Node's setTimeout honours: above 2^31 − 1 ms it fires after 1 ms (with only a
 * warning), so a `hardTimeout` of 3e9 would time every load out at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;
const timerMs = ms.max(MAX_TIMER_MS);
const earlyRefreshSchema = z.union([z.boolean(), z.strictObject({ beta: ms })]);
const stampedeSchema = z.union([
  z.boolean(),
  z.strictObject({
    lockTtl: timerMs.optional(),
    waitTimeout: timerMs.optional(),
    pollInterval: timerMs.optional(),
  }),
]);

const optionsSchema = z.strictObject({
  l1: tierSchema.optional(),
  l2: tierSchema.optional(),
  ttl: ms.optional(),
  jitter: z.number().min(0).max(1).optional(),
  negativeTtl: ms.optional(),
  maxStale: z.number().min(0).finite().optional(),
  // zod 4 numbers reject Infinity, which softTimeout allows ("wait, fail-safe on error").
  softTimeout: z
    .union([z.number().min(0).max(MAX_TIMER_MS), z.literal(Number.POSITIVE_INFINITY)])
    .optional(),
  hardTimeout: timerMs.optional(),
  earlyRefresh: earlyRefreshSchema.optional(),
  locker: z
    .custom<Locker>(
      (v) => typeof v === 'object' && v !== null && isFunction((v as Locker).acquire),
      { message: 'expected a Locker (an object with acquire(), e.g. a DistributedLock)' },
    )
    .optional(),
  stampede: stampedeSchema.optional(),
  bus: z
    .custom<InvalidationBus>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        isFunction((v as InvalidationBus).publish) &&
        isFunction((v as InvalidationBus).subscribe),
      { message: 'expected an InvalidationBus (publish, subscribe)' },
    )
    .optional(),
  tagVersions: z
    .custom<TagVersionStore>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        isFunction((v as TagVersionStore).get) &&
        isFunction((v as TagVersionStore).invalidate),
      { message: 'expected a TagVersionStore (get, invalidate)' },
    )
    .optional(),
  versionedWrites: z.boolean().optional(),
  redoFailedDeletes: z
    .union(
      [
        z.boolean(),
        z.strictObject({
          interval: timerMs.optional(),
          maxKeys: z.int().positive().optional(),
        }),
      ],
      { error: 'expected a boolean or { interval?, maxKeys? }' },
    )
    .optional(),
  matchPattern: z.custom<PatternMatcher>(isFunction, { message: 'expected a function' }).optional(),
  clock: z.custom<() => number>(isFunction, { message: 'expected a function' }).optional(),
  random: z.custom<() => number>(isFunction, { message: 'expected a function' }).optional(),
  logger: z
    .custom<CacheLogger>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        isFunction((v as CacheLogger).warn) &&
        isFunction((v as CacheLogger).error),
      { message: 'expected an object with warn() and error()' },
    )
    .optional(),
});

/** Validates constructor options; throws {@link InvalidOptionsError} naming the first bad field. */
export function parseManagerOptions(options: unknown): CacheManagerOptions {
  const result = optionsSchema.safeParse(options ?? {});
  if (result.success) return result.data;
  const issue = innermost(result.error.issues[0]);
  let field = issue?.path.join('.') ?? '';
  // A nested unknown key (`stampede: { lockTTL }`) keeps its parent in the name.
  if (issue?.code === 'unrecognized_keys') field = [...issue.path, issue.keys.join(', ')].join('.');
  throw new InvalidOptionsError(
    field === ''
      ? `Invalid options: ${issue?.message}`
      : `Invalid option "${field}": ${issue?.message}`,
    { cause: result.error },
  );
}

type Issue = z.core.$ZodIssue;

/**
 * A union (`false` or an object) that failed inside its object branch: that branch's issue,
 * with the full path, so the message names `redoFailedDeletes.maxKeys`, not just the option.
 */
function innermost(issue: Issue | undefined): Issue | undefined {
  if (issue?.code !== 'invalid_union') return issue;
  const nested = issue.errors.find((branch) => (branch[0]?.path.length ?? 0) > 0)?.[0];
  if (nested === undefined) return issue;
  const inner = innermost(nested) as Issue;
  return { ...inner, path: [...issue.path, ...inner.path] } as Issue;
}

/** `0` means "early refresh off"; the number itself is XFetch's beta. */
export function betaOf(option: EarlyRefreshOption): number {
  if (option === true) return 1;
  if (option === false) return 0;
  return option.beta;
}

/** `String(value)` that cannot throw: a null-prototype object has no `toString`. */
function show(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function bad(field: string, expected: string, value: unknown): InvalidOptionsError {
  return new InvalidOptionsError(
    `Invalid option "${field}": expected ${expected}, got ${show(value)}`,
  );
}

// Hand-written instead of zod: it runs on every get that passes options.
function checkPositive(field: string, v: number | undefined): InvalidOptionsError | undefined {
  if (v === undefined || (typeof v === 'number' && v > 0 && v < Number.POSITIVE_INFINITY)) {
    return undefined;
  }
  return bad(field, 'a positive finite number', v);
}

/** A delay handed to setTimeout: positive and at most {@link MAX_TIMER_MS}. */
function checkTimer(field: string, v: number | undefined): InvalidOptionsError | undefined {
  if (v === undefined || (typeof v === 'number' && v > 0 && v <= MAX_TIMER_MS)) return undefined;
  return bad(field, `a positive number of milliseconds up to ${MAX_TIMER_MS}`, v);
}

/**
 * Cheap validation of per-call options (typeof and range checks, no allocation on success).
 * Returns the error instead of throwing so `get` can reject without an async frame.
 */
export function checkCallOptions(o: GetOptions): InvalidOptionsError | undefined {
  if (typeof o !== 'object' || o === null) return bad('options', 'an object', o);
  const { jitter, maxStale, softTimeout, earlyRefresh, policy, stampede } = o;
  const err =
    checkPositive('ttl', o.ttl) ??
    checkPositive('negativeTtl', o.negativeTtl) ??
    checkTimer('hardTimeout', o.hardTimeout) ??
    checkPositive('l1Ttl', o.l1Ttl);
  if (err !== undefined) return err;
  if (o.tags !== undefined) {
    const tagsError = checkTags(o.tags, 'tags');
    if (tagsError !== undefined) return tagsError;
  }
  if (jitter !== undefined && !(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) {
    return bad('jitter', 'a number in [0, 1]', jitter);
  }
  if (
    maxStale !== undefined &&
    !(typeof maxStale === 'number' && maxStale >= 0 && maxStale < Number.POSITIVE_INFINITY)
  ) {
    return bad('maxStale', 'a finite number >= 0', maxStale);
  }
  if (
    softTimeout !== undefined &&
    !(
      typeof softTimeout === 'number' &&
      softTimeout >= 0 &&
      (softTimeout <= MAX_TIMER_MS || softTimeout === Number.POSITIVE_INFINITY)
    )
  ) {
    return bad('softTimeout', `a number from 0 to ${MAX_TIMER_MS}, or Infinity`, softTimeout);
  }
  if (earlyRefresh !== undefined && typeof earlyRefresh !== 'boolean') {
    const beta = typeof earlyRefresh === 'object' && earlyRefresh !== null && earlyRefresh.beta;
    if (!(typeof beta === 'number' && beta > 0 && beta < Number.POSITIVE_INFINITY)) {
      return bad('earlyRefresh', 'a boolean or { beta: positive number }', earlyRefresh);
    }
  }
  if (policy !== undefined) {
    const ttl = typeof policy === 'object' && policy !== null && policy.ttl;
    if (!(typeof ttl === 'number' && ttl > 0 && ttl < Number.POSITIVE_INFINITY)) {
      return bad('policy.ttl', 'a positive finite number of seconds', ttl);
    }
  }
  if (stampede !== undefined && typeof stampede !== 'boolean') {
    if (typeof stampede !== 'object' || stampede === null) {
      return bad('stampede', 'a boolean or an object', stampede);
    }
    return (
      checkTimer('stampede.lockTtl', stampede.lockTtl) ??
      checkTimer('stampede.waitTimeout', stampede.waitTimeout) ??
      checkTimer('stampede.pollInterval', stampede.pollInterval)
    );
  }
  return undefined;
}

/** Checks a list of tags (an array of non-empty strings) without allocating. */
export function checkTags(tags: unknown, field: string): InvalidOptionsError | undefined {
  if (!Array.isArray(tags)) return bad(field, 'an array of non-empty strings', tags);
  for (let i = 0; i < tags.length; i++) {
    const tag: unknown = tags[i];
    if (typeof tag !== 'string' || tag === '') {
      return bad(`${field}[${i}]`, 'a non-empty string', tag === '' ? "''" : tag);
    }
  }
  return undefined;
}
