import { CoarseClock } from './coarse-clock.js';
import { Entry, toEntry } from './entry.js';
import {
  CacheClosedError,
  InvalidEntryError,
  InvalidKeyError,
  InvalidOptionsError,
  LoaderTimeoutError,
} from './errors.js';
import type { CacheEventListener, CacheEvents, StaleServedEvent, TierOperation } from './events.js';
import { Emitter } from './events.js';
import type {
  InvalidationBus,
  InvalidationMessage,
  PatternMatcher,
  TagVersionStore,
  VersionedTier,
} from './invalidation.js';
import { isVersionedTier } from './invalidation.js';
import type { Locker } from './locker.js';
import type { CacheLogger, CacheManagerOptions, GetOptions, SetOptions } from './options.js';
import { betaOf, checkCallOptions, checkTags, parseManagerOptions } from './options.js';
import { Stampede, type StampedeHost, StampedeResult, settleStampede } from './stampede.js';
import { isTagStamp, type TagStamp, TagState } from './tag-state.js';
import type { CacheTier, TierReadResult } from './tier.js';
import { DeleteRedo, REDO_DEFAULTS, type RedoHost, type RedoStats } from './undeleted.js';

/** What a loader receives. */
export interface LoaderContext<T> {
  /** The key being loaded. */
  readonly key: string;
  /** Aborted (with `LoaderTimeoutError`) when `hardTimeout` elapses, or when the manager closes. */
  readonly signal: AbortSignal;
  /** The value being replaced, when the load is a refresh of a stale or early-refreshed entry. */
  readonly stale?: T;
}

/**
 * Loads a value from the source of truth. Return `null` to cache "not found" (for
 * `negativeTtl`); return `undefined` for "nothing to cache": it reaches the caller but is
 * not stored.
 */
export type Loader<T> = (ctx: LoaderContext<T>) => T | Promise<T>;

/** What a batch loader receives besides the missing keys. */
export interface BatchLoaderContext {
  /** Aborted when `hardTimeout` elapses, or when the manager closes. */
  readonly signal: AbortSignal;
}

/**
 * Loads several keys at once (`WHERE id = ANY($1)`). Keys absent from the answer, or
 * mapped to `undefined`, are not cached and are absent from `getMany`'s result.
 */
export type BatchLoader<T> = (
  missing: string[],
  ctx: BatchLoaderContext,
) => Map<string, T> | Record<string, T> | Promise<Map<string, T> | Record<string, T>>;

/** A load in flight for one key; every concurrent reader of that key shares it. */
interface Load {
  promise: Promise<unknown>;
  /** The entry it replaces, so readers that join it can be served stale. */
  readonly stale: Entry | undefined;
  readonly staleTier: string;
  /** Set by delete/set/clear: the result is still returned to waiters but never stored. */
  invalidated: boolean;
  readonly controller: AbortController;
  /** What was read before the loader ran (tag and key versions), when anything had to be. */
  prepared?: Prepared;
}

/**
 * Read before a loader runs, so that its value is written only if nothing was invalidated
 * since: the versions of its tags (stamped on the entry) and the key's version
 * (`versionedWrites`). `null`: could not be read, so the value is not cached (tags) or not
 * written to L2 (version).
 */
interface Prepared {
  readonly tags: TagStamp | null | undefined;
  readonly version: string | null | undefined;
}

/** An L2 read in flight for one key (1000 concurrent misses → 1 L2 GET). */
const NO_ENTRY: Promise<Entry | undefined> = Promise.resolve(undefined);

/**
 * A `getMany` L2 read in flight: the keys invalidated while it ran (`all`: every key) are
 * returned to its caller but not put in L1, as for a {@link Lookup}.
 */
interface MultiRead {
  dropped: Set<string> | undefined;
  all: boolean;
}

interface Lookup {
  promise: Promise<Entry | undefined>;
  invalidated: boolean;
  /** Tag versions read with the GET (the `tags` option), reused by the load after a miss. */
  tags?: TagPrefetch;
}

/** Versions of `list` read in the same round trip as an L2 GET. */
interface TagPrefetch {
  readonly list: readonly string[];
  readonly stamp: Promise<TagStamp | null>;
}

/** Repeated log lines for the same failure class are demoted to debug for this long. */
const LOG_THROTTLE_MS = 30_000;

/** Most invalidated tags whose versions are remembered for L1 checks (see TagState). */
const MAX_KNOWN_TAGS = 10_000;

/** Names under which bus and tag-store failures are reported as `tier:error`. */
const BUS = { name: 'bus' } as const;
const TAGS = { name: 'tags' } as const;

const MISS: TierReadResult = Object.freeze({ hit: false });

/** Failures that leave stale data somewhere: logged at error level. */
const ERROR_LEVEL_OPERATIONS: ReadonlySet<TierOperation> = new Set<TierOperation>([
  'delete',
  'clear',
  'publish',
  'invalidate',
  'deleteMatching',
]);

type MaybeNumber = number | Promise<number>;

function noTagStore(): InvalidOptionsError {
  return new InvalidOptionsError(
    'Tags need the "tagVersions" option (e.g. redisTagVersions() from @tiercache/invalidation)',
  );
}

const noop = (): void => {};

/** -ln(Number.MIN_VALUE): the largest Exp(1) sample XFetch can draw from a non-zero random. */
const MAX_EXP_SAMPLE = 745;

const consoleLogger: CacheLogger = {
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A non-empty, well-formed string. A lone surrogate has no UTF-8 form: the Redis client sends
 * U+FFFD instead, so `'k\ud800'` and `'k\udc00'` would read and overwrite one L2 entry.
 * (`isWellFormed` is ES2024, in Node since 20; the ES2023 lib typings lack it.)
 */
function isKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key !== '' &&
    (key as string & { isWellFormed(): boolean }).isWellFormed()
  );
}

function invalidKey(key: unknown): InvalidKeyError {
  const got =
    key === ''
      ? 'an empty string'
      : typeof key === 'string'
        ? 'a string with a lone surrogate (no UTF-8 form, so it would share an L2 entry with other keys)'
        : typeof key;
  return new InvalidKeyError(`Invalid cache key: expected a non-empty string, got ${got}`);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The tag stamp of a raw tier value (an entry or its decoded JSON), if it has one. */
function stampOf(raw: unknown): TagStamp | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const t = (raw as { t?: unknown }).t;
  return t !== undefined && isTagStamp(t) ? t : undefined;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

/** Last instant a stale `entry` may be served to a reader whose own bound is `maxStale`. */
function staleLimit(entry: Entry, maxStale: number): number {
  return Math.min(entry.f + maxStale, entry.s);
}

function withHardTimeout(
  promise: Promise<unknown>,
  timeoutMs: number,
  controller: AbortController,
  key: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new LoaderTimeoutError(key, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Composes an L1 and an L2 {@link CacheTier} in front of a loader (the source of truth):
 * `get` reads L1 → L2 → loader with single flight, negative caching, stale-while-revalidate,
 * fail-safe, soft/hard timeouts and XFetch early refresh. A tier failure never fails a read
 * the loader can answer; it is emitted as `tier:error` and logged.
 *
 * @example
 * ```ts
 * const cache = new CacheManager({ l1: memoryTier(), l2: redisTier({ client }), maxStale: 60_000 });
 * const user = await cache.get(`user:${id}`, ({ signal }) => db.findUser(id, { signal }));
 * ```
 */
export class CacheManager {
  private readonly l1: CacheTier | undefined;
  private readonly l2: CacheTier | undefined;
  private readonly ttl: number;
  private readonly jitter: number;
  private readonly negativeTtl: number;
  private readonly maxStale: number;
  private readonly softTimeout: number | undefined;
  private readonly hardTimeout: number | undefined;
  private readonly beta: number;
  private readonly clock: () => number;
  /** Set when no clock was injected; stopped on close. */
  private readonly coarse: CoarseClock | undefined;
  private readonly random: () => number;
  private readonly logger: CacheLogger;
  private readonly events: Emitter;
  /** Invalidation across instances (all optional; see invalidation.ts). */
  private readonly bus: InvalidationBus | undefined;
  private readonly unsubscribe: (() => void) | undefined;
  private readonly tagStore: TagVersionStore | undefined;
  private readonly tagState = new TagState(MAX_KNOWN_TAGS);
  /** The L2, when `versionedWrites` is on. */
  private readonly versioned: VersionedTier | undefined;
  private readonly matchPattern: PatternMatcher | undefined;
  /** Longest TTL written to L1 so far: tag versions learnt longer ago can be forgotten. */
  private l1Horizon = 0;
  /** Cross-process stampede protection; set when a locker and an L2 are configured. */
  private readonly stampede: Stampede | undefined;
  private readonly loads = new Map<string, Load>();
  private readonly lookups = new Map<string, Lookup>();
  private readonly multiReads = new Set<MultiRead>();
  /** Tier writes not awaited by their caller; `close()` waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly logState = new Map<string, { until: number; suppressed: number }>();
  /** `redoFailedDeletes`: keys whose L2 delete or bus message failed, done again. */
  private readonly redo: DeleteRedo | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: CacheManagerOptions = {}) {
    const o = parseManagerOptions(options);
    this.l1 = o.l1;
    this.l2 = o.l2;
    this.ttl = o.ttl ?? 300_000;
    this.jitter = o.jitter ?? 0.1;
    this.negativeTtl = o.negativeTtl ?? 60_000;
    this.maxStale = o.maxStale ?? 0;
    this.softTimeout = o.softTimeout;
    this.hardTimeout = o.hardTimeout;
    this.beta = betaOf(o.earlyRefresh ?? true);
    if (o.clock === undefined) {
      this.coarse = new CoarseClock();
      this.clock = this.coarse.now;
    } else {
      this.clock = o.clock;
    }
    this.random = o.random ?? Math.random;
    this.logger = o.logger ?? consoleLogger;
    this.events = new Emitter((event, error) =>
      this.logger.error(`tiercache: a "${event}" listener threw`, { error }),
    );
    this.tagStore = o.tagVersions;
    this.matchPattern = o.matchPattern;
    if (o.versionedWrites === true) {
      if (!isVersionedTier(this.l2)) {
        throw new InvalidOptionsError(
          'Invalid option "versionedWrites": needs an l2 tier with getVersions, setIfVersion, ' +
            'setVersioned and deleteVersioned (e.g. redisTier)',
        );
      }
      this.versioned = this.l2;
    }
    this.bus = o.bus;
    this.unsubscribe = o.bus?.subscribe((message) => this.applyMessage(message));
    this.stampede =
      o.locker === undefined || this.l2 === undefined
        ? undefined
        : new Stampede(this.stampedeHost(o.locker), o.stampede);
    const redo = o.redoFailedDeletes ?? true;
    this.redo =
      redo === false || (this.l2 === undefined && this.bus === undefined)
        ? undefined
        : new DeleteRedo(
            this.redoHost(),
            redo === true ? REDO_DEFAULTS : { ...REDO_DEFAULTS, ...redo },
            this.l2,
          );
  }

  /**
   * `redoFailedDeletes`: how many keys wait for their failed L2 delete (or bus message) to be
   * redone, how many were redone, and how many were given up past `maxKeys`. All zero when
   * the option is off.
   */
  get redoStats(): RedoStats {
    return this.redo?.stats ?? { pending: 0, redone: 0, dropped: 0 };
  }

  /**
   * Returns the cached value for `key`, or loads it with `loader` and caches it.
   *
   * Order: L1 → (a load in flight for this key? join it) → L2 (fills L1 with the entry's
   * remaining lifetime) → `loader` (fills L1 and L2). `null`, `0`, `''` and `false` are
   * values. The loader's `undefined` is returned but not cached; `null` is cached for
   * `negativeTtl`. Concurrent calls for one key share one L2 read and one loader call, whose
   * options are the first caller's.
   *
   * @throws {InvalidKeyError} `key` is not a non-empty string, or has a lone surrogate.
   * @throws {InvalidOptionsError} a per-call option is out of range.
   * @throws {LoaderTimeoutError} the loader exceeded `hardTimeout` and no stale value was allowed.
   * @throws {CacheClosedError} after `close()`.
   * Otherwise rejects only with the loader's own error (never with a tier's).
   */
  get<T>(key: string, loader: Loader<T>, options?: GetOptions): Promise<T> {
    if (!isKey(key)) return Promise.reject(invalidKey(key));
    if (this.closing !== undefined) return Promise.reject(new CacheClosedError());
    if (typeof loader !== 'function') {
      return Promise.reject(
        new InvalidOptionsError('Invalid argument "loader": expected a function'),
      );
    }
    if (options !== undefined) {
      const error = checkCallOptions(options);
      if (error !== undefined) return Promise.reject(error);
      if (options.tags !== undefined && this.tagStore === undefined) {
        return Promise.reject(noTagStore());
      }
    }
    const l1 = this.l1;
    if (l1 !== undefined) {
      let raw: unknown;
      try {
        raw = l1.get(key);
      } catch (error) {
        this.tierError(l1, 'get', key, error);
      }
      if (raw !== undefined) {
        let entry: Entry | undefined;
        if (raw instanceof Entry) entry = raw;
        else if (isThenable(raw)) return this.getAfterAsyncL1(key, loader, options, l1, raw);
        else entry = toEntry(raw);
        if (entry !== undefined) {
          if (entry.t !== undefined && this.tagState.isStale(entry.t)) {
            this.dropL1(key);
            return this.getSlow(key, loader, options, undefined, '');
          }
          // The L1-hit fast path: no await, no allocation besides the returned promise.
          const now = this.clock();
          if (now < entry.f) {
            if (entry.d > 0) this.maybeRefreshEarly(key, loader, options, entry, l1.name, now);
            if (this.events.lists.hit.length !== 0) {
              this.events.emit('hit', { key, tier: l1.name, stale: false });
            }
            return Promise.resolve(entry.v as T);
          }
          return this.getSlow(key, loader, options, entry, l1.name);
        }
        this.invalidEntry(l1, 'get', key);
      }
    }
    return this.getSlow(key, loader, options, undefined, '');
  }

  /**
   * Stores `value` in L1 and L2 (as if loaded now). `undefined` deletes the key, as in
   * lru-cache. A load of `key` in flight when `set` is called will not overwrite it.
   * Tier failures are emitted as `tier:error`, not thrown.
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    if (!isKey(key)) throw invalidKey(key);
    if (this.closing !== undefined) throw new CacheClosedError();
    if (options !== undefined) {
      const error = checkCallOptions(options);
      if (error !== undefined) throw error;
      if (options.tags !== undefined && this.tagStore === undefined) throw noTagStore();
    }
    if (value === undefined) {
      await this.delete(key);
      return;
    }
    this.invalidateInFlight(key);
    const tags = options?.tags;
    const prepared: Prepared | undefined =
      tags === undefined || tags.length === 0
        ? undefined
        : { tags: await this.readTags(tags), version: undefined };
    await this.store(key, value, options, 0, prepared, true);
    await this.publishKeys([key], key);
  }

  /**
   * Reads many keys: L1 and L2 each with one `getMany` call, then one `loader` call for the
   * keys still missing (keys already loading in this process join those loads). Fresh and
   * allowed-stale values are returned; stale ones are refreshed in one background batch.
   * Without a loader, misses are simply absent. The result lists found keys in `keys` order.
   * A key invalidated while its L2 read is in flight (a bus message, or this instance's own
   * `delete`/`set`) is returned but not kept in L1, as with `get`.
   * Early refresh and `softTimeout` do not apply to `getMany`.
   */
  async getMany<T>(
    keys: readonly string[],
    loader?: BatchLoader<T>,
    options?: GetOptions,
  ): Promise<Map<string, T>> {
    if (!Array.isArray(keys)) throw new InvalidKeyError('Invalid keys: expected an array');
    for (const key of keys) if (!isKey(key)) throw invalidKey(key);
    if (this.closing !== undefined) throw new CacheClosedError();
    if (loader !== undefined && typeof loader !== 'function') {
      throw new InvalidOptionsError('Invalid argument "loader": expected a function');
    }
    if (options !== undefined) {
      const error = checkCallOptions(options);
      if (error !== undefined) throw error;
      if (options.tags !== undefined && this.tagStore === undefined) throw noTagStore();
    }
    const maxStale = options?.maxStale ?? this.maxStale;
    const found = new Map<string, unknown>();
    const stale = new Map<string, { entry: Entry; tier: string }>();
    let missing = [...new Set(keys)];

    let read: MultiRead | undefined;
    const classify = (key: string, raw: unknown, tier: CacheTier, fillL1: boolean): boolean => {
      if (raw === undefined) return false;
      const entry = toEntry(raw);
      if (entry === undefined) {
        this.invalidEntry(tier, 'getMany', key);
        return false;
      }
      if (entry.t !== undefined && this.tagState.isStale(entry.t)) {
        if (!fillL1) this.dropL1(key);
        return false;
      }
      const now = this.clock();
      if (now >= entry.s) return false;
      if (fillL1 && read !== undefined && !read.all && read.dropped?.has(key) !== true) {
        this.fillL1(key, entry, options, now);
      }
      if (now < entry.f) {
        found.set(key, entry.v);
        if (this.events.lists.hit.length !== 0) {
          this.events.emit('hit', { key, tier: tier.name, stale: false });
        }
        return true;
      }
      if (now < staleLimit(entry, maxStale)) {
        stale.set(key, { entry, tier: tier.name });
        return true;
      }
      return false;
    };

    for (const [tier, fillL1] of [
      [this.l1, false],
      [this.l2, true],
    ] as const) {
      if (tier === undefined || missing.length === 0) continue;
      let results: TierReadResult[] | undefined;
      // An invalidation applied while L2 answers must keep what it read out of L1.
      if (fillL1) {
        read = { dropped: undefined, all: false };
        this.multiReads.add(read);
      }
      try {
        results = await tier.getMany(missing);
        if (results !== undefined && fillL1) results = await this.dropStaleTagged(results);
      } catch (error) {
        this.tierError(tier, 'getMany', undefined, error);
      }
      if (read !== undefined) this.multiReads.delete(read);
      if (results === undefined) continue;
      const still: string[] = [];
      for (let i = 0; i < missing.length; i++) {
        const key = missing[i] as string;
        const r = results[i];
        if (r?.hit === true) {
          if (classify(key, r.value, tier, fillL1)) continue;
        } else if (r?.error !== undefined) {
          this.tierError(tier, 'getMany', key, r.error);
        }
        still.push(key);
      }
      missing = still;
    }

    if (this.events.lists.miss.length !== 0) {
      for (const key of missing) this.events.emit('miss', { key });
    }
    for (const [key, { entry, tier }] of stale) {
      found.set(key, entry.v);
      this.emitStale(key, tier, loader === undefined ? undefined : 'revalidating');
    }

    if (loader !== undefined) {
      const refresh = [...stale.keys()].filter((key) => !this.loads.has(key));
      if (refresh.length > 0) {
        if (this.events.lists.refresh.length !== 0) {
          for (const key of refresh) this.events.emit('refresh', { key, early: false });
        }
        this.startBatchLoad(refresh, loader, options, stale).catch((error: unknown) =>
          this.logThrottled(
            'warn',
            `refresh:${codeOf(error)}`,
            'tiercache: background refresh failed',
            {
              keys: refresh,
              error,
            },
          ),
        );
      }
      const joined: Array<Promise<void>> = [];
      const toLoad: string[] = [];
      for (const key of missing) {
        const load = this.loads.get(key);
        if (load === undefined) toLoad.push(key);
        else joined.push(load.promise.then((value) => void found.set(key, value)));
      }
      if (toLoad.length > 0) {
        joined.push(
          this.startBatchLoad(toLoad, loader, options, undefined).then((loaded) => {
            for (const key of toLoad) found.set(key, loaded.get(key));
          }),
        );
      }
      await Promise.all(joined);
    }

    const out = new Map<string, T>();
    for (const key of keys) {
      const value = found.get(key);
      if (value !== undefined) out.set(key, value as T);
    }
    return out;
  }

  /**
   * Removes `key` from L1 and L2. A load of `key` in flight is detached: its waiters still
   * get its result, but it is not written to any tier, and later `get`s start a new load.
   * Resolves to whether a tier held the key. Tier failures are emitted and logged at error
   * level, not thrown. An L2 delete that failed would leave L2 stale until its TTL: it is
   * redone in the background (`redoFailedDeletes`, on by default).
   */
  async delete(key: string): Promise<boolean> {
    if (!isKey(key)) throw invalidKey(key);
    if (this.closing !== undefined) throw new CacheClosedError();
    this.invalidateInFlight(key);
    // Both deletes are issued before either is awaited, so L1 is already clean when this
    // returns its promise.
    const inL1 = this.tierDelete(this.l1, key);
    const inL2 = this.deleteL2(key);
    const a = await inL1;
    const b = await inL2;
    // After L2: an instance that drops its L1 entry on this message must not find the old
    // value in L2.
    await this.publishKeys([key], key);
    return a || b;
  }

  /** Same as {@link CacheManager.delete}. */
  invalidate(key: string): Promise<boolean> {
    return this.delete(key);
  }

  /**
   * Returns `fn` cached: `wrap(fn, keyFn)(...args)` is `get(keyFn(...args), () => fn(...args))`.
   */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    keyFn: (...args: A) => string,
    options?: GetOptions,
  ): (...args: A) => Promise<T> {
    if (typeof fn !== 'function') {
      throw new InvalidOptionsError('Invalid argument "fn": expected a function');
    }
    if (typeof keyFn !== 'function') {
      throw new InvalidOptionsError('Invalid argument "keyFn": expected a function');
    }
    if (options !== undefined) {
      const error = checkCallOptions(options);
      if (error !== undefined) throw error;
    }
    return (...args: A): Promise<T> => {
      let key: string;
      try {
        key = keyFn(...args);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.get<T>(key, () => fn(...args), options);
    };
  }

  /** Empties L1 and L2 (only this tier's prefix on a shared Redis) and detaches every load. */
  async clear(): Promise<void> {
    if (this.closing !== undefined) throw new CacheClosedError();
    for (const load of this.loads.values()) load.invalidated = true;
    for (const lookup of this.lookups.values()) lookup.invalidated = true;
    for (const read of this.multiReads) read.all = true;
    this.loads.clear();
    this.lookups.clear();
    const a = this.tierClear(this.l1);
    const b = this.tierClear(this.l2);
    await a;
    await b;
    await this.publish({ type: 'clear' }, undefined);
  }

  /**
   * Deletes several keys from L1 and L2 (as {@link delete}, each load in flight detached) and
   * tells the other instances in one bus message. Resolves to how many keys a tier held.
   */
  async deleteMany(keys: readonly string[]): Promise<number> {
    if (!Array.isArray(keys)) throw new InvalidKeyError('Invalid keys: expected an array');
    for (const key of keys) if (!isKey(key)) throw invalidKey(key);
    if (this.closing !== undefined) throw new CacheClosedError();
    const unique = [...new Set(keys)];
    if (unique.length === 0) return 0;
    const existed = await Promise.all(
      unique.map(async (key) => {
        this.invalidateInFlight(key);
        const inL1 = this.tierDelete(this.l1, key);
        const inL2 = this.deleteL2(key);
        // Both awaited: the message must not leave before L2 is done.
        const a = await inL1;
        const b = await inL2;
        return a || b;
      }),
    );
    await this.publishKeys(unique, undefined);
    let count = 0;
    for (const e of existed) if (e) count++;
    return count;
  }

  /**
   * Invalidates every entry tagged with one of `tags`, in every instance: each tag's version
   * moves forward in the `tagVersions` store (one command per tag, whatever the number of
   * entries), this L1 learns the new versions, then a bus message tells the others. Entries
   * are not deleted: a read finds their stamp outdated and loads again; they leave L2 on their
   * own TTL. A store failure is emitted (`tier:error`, tier `'tags'`) and logged at error
   * level, not thrown.
   * @throws {InvalidOptionsError} no `tagVersions` store, or a tag that is not a non-empty string.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const store = this.tagStore;
    if (store === undefined) throw noTagStore();
    const error = checkTags(tags, 'tags');
    if (error !== undefined) throw error;
    if (this.closing !== undefined) throw new CacheClosedError();
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    let versions: readonly number[];
    try {
      versions = await store.invalidate(unique);
    } catch (cause) {
      this.tierError(TAGS, 'invalidate', undefined, cause);
      return;
    }
    this.raiseTags(unique, versions);
    await this.publish({ type: 'tags', tags: unique, versions }, undefined);
  }

  /** Same as `invalidateTags([tag])`. */
  invalidateTag(tag: string): Promise<void> {
    return this.invalidateTags([tag]);
  }

  /**
   * Deletes the keys matching the Redis glob `pattern` from L2 (the tier's `deleteMatching`:
   * SCAN and batched UNLINK on every master for `redisTier`), drops the matching L1 entries
   * and loads, then tells the other instances, which drop theirs. Resolves to how many L2
   * keys were deleted (without an L2: how many L1 entries). Escape user input that goes into
   * a pattern (`escapeGlob` from `@tiercache/keys`).
   * @throws {InvalidOptionsError} `pattern` is not a non-empty string, or the L2 has no
   * `deleteMatching`.
   */
  async invalidatePattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new InvalidOptionsError('Invalid argument "pattern": expected a non-empty string');
    }
    if (this.closing !== undefined) throw new CacheClosedError();
    const l2 = this.l2;
    if (l2 !== undefined && typeof l2.deleteMatching !== 'function') {
      throw new InvalidOptionsError(
        `invalidatePattern needs an l2 tier with deleteMatching(); "${l2.name}" has none`,
      );
    }
    let count = this.dropMatching(pattern);
    if (l2 !== undefined) {
      try {
        count = await (l2.deleteMatching as (pattern: string) => MaybeNumber)(pattern);
      } catch (error) {
        this.tierError(l2, 'deleteMatching', undefined, error);
        count = 0;
      }
      // Reads made here while L2 was being scanned may have put deleted values back in L1.
      this.dropMatching(pattern);
    }
    await this.publish({ type: 'pattern', pattern }, undefined);
    return count;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof CacheEvents>(event: K, listener: CacheEventListener<K>): () => void {
    return this.events.on(event, listener);
  }

  /** Unsubscribes a listener added with {@link CacheManager.on}. */
  off<K extends keyof CacheEvents>(event: K, listener: CacheEventListener<K>): void {
    this.events.off(event, listener);
  }

  /**
   * Stops the manager: later calls reject with `CacheClosedError`, loads in flight are
   * aborted (their results are not stored), pending tier writes are awaited, failed L2
   * deletes still pending are redone one last time (`redoFailedDeletes`; bounded by the L2's
   * and the bus's own timeouts, like the writes; what still fails is logged and given up),
   * then every tier that has a `close()` method is closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.coarse?.stop();
    this.unsubscribe?.();
    const reason = new CacheClosedError();
    for (const load of this.loads.values()) {
      load.invalidated = true;
      load.controller.abort(reason);
    }
    await Promise.allSettled([...this.pending]);
    // Before the tiers close; after the writes, so that none lands after the last redo.
    await this.redo?.close();
    for (const tier of [this.l1, this.l2]) {
      const close = (tier as { close?: unknown } | undefined)?.close;
      if (tier === undefined || typeof close !== 'function') continue;
      try {
        await close.call(tier);
      } catch (error) {
        this.tierError(tier, 'close', undefined, error);
      }
    }
  }

  private async getAfterAsyncL1<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    l1: CacheTier,
    pending: PromiseLike<unknown>,
  ): Promise<T> {
    let raw: unknown;
    try {
      raw = await pending;
    } catch (error) {
      this.tierError(l1, 'get', key, error);
    }
    if (raw !== undefined) {
      const entry = toEntry(raw);
      if (entry !== undefined && entry.t !== undefined && this.tagState.isStale(entry.t)) {
        this.dropL1(key);
        return this.getSlow(key, loader, options, undefined, '');
      }
      if (entry !== undefined) {
        const now = this.clock();
        if (now < entry.f) {
          if (entry.d > 0) this.maybeRefreshEarly(key, loader, options, entry, l1.name, now);
          if (this.events.lists.hit.length !== 0) {
            this.events.emit('hit', { key, tier: l1.name, stale: false });
          }
          return entry.v as T;
        }
        return this.getSlow(key, loader, options, entry, l1.name);
      }
      this.invalidEntry(l1, 'get', key);
    }
    return this.getSlow(key, loader, options, undefined, '');
  }

  /**
   * Everything after an L1 miss or a non-fresh L1 entry. Written as one `then` rather than
   * an async function: an L2 hit is the hot path of an L1-less service, and each async frame
   * and await costs a promise and a microtask per get (tooling/bench, L2 hit path).
   */
  private getSlow<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    l1Entry: Entry | undefined,
    l1Name: string,
  ): Promise<T> {
    try {
      const maxStale = options?.maxStale ?? this.maxStale;
      if (l1Entry !== undefined && this.clock() < staleLimit(l1Entry, maxStale)) {
        return Promise.resolve(
          this.afterLookup(key, loader, options, maxStale, l1Entry, l1Name, undefined),
        );
      }
      const l2 = this.l2;
      if (l2 !== undefined && !this.loads.has(key)) {
        const lookup = this.lookupL2(key, options);
        const prefetched = this.lookups.get(key)?.tags;
        return lookup.then((entry) =>
          this.afterL2(key, loader, options, maxStale, l2.name, entry, prefetched),
        );
      }
      return Promise.resolve(
        this.afterLookup(key, loader, options, maxStale, undefined, '', undefined),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** An L2 lookup answered: a fresh hit returns, anything else goes on as a miss or stale. */
  private afterL2<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    maxStale: number,
    l2Name: string,
    entry: Entry | undefined,
    prefetched: TagPrefetch | undefined,
  ): T | Promise<T> {
    if (entry === undefined) {
      return this.afterLookup(key, loader, options, maxStale, undefined, '', prefetched);
    }
    const now = this.clock();
    if (now < entry.f) {
      if (entry.d > 0) this.maybeRefreshEarly(key, loader, options, entry, l2Name, now);
      if (this.events.lists.hit.length !== 0) {
        this.events.emit('hit', { key, tier: l2Name, stale: false });
      }
      return entry.v as T;
    }
    const stale = now < staleLimit(entry, maxStale) ? entry : undefined;
    return this.afterLookup(key, loader, options, maxStale, stale, l2Name, prefetched);
  }

  /** No fresh entry in L1 or L2: serve `stale` (or an in-flight load's) or load. */
  private afterLookup<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    maxStale: number,
    staleEntry: Entry | undefined,
    staleName: string,
    prefetched: TagPrefetch | undefined,
  ): T | Promise<T> {
    let stale = staleEntry;
    let staleTier = stale === undefined ? '' : staleName;
    let load = this.loads.get(key);
    if (stale === undefined && load?.stale !== undefined) {
      // The load in flight replaces an entry this reader can use: an early refresh's entry
      // is still fresh, a revalidation's may be within this reader's maxStale.
      const now = this.clock();
      if (now < load.stale.f) {
        if (this.events.lists.hit.length !== 0) {
          this.events.emit('hit', { key, tier: load.staleTier, stale: false });
        }
        return load.stale.v as T;
      }
      if (now < staleLimit(load.stale, maxStale)) {
        stale = load.stale;
        staleTier = load.staleTier;
      }
    }
    if (stale !== undefined) return this.serveStale(key, loader, options, stale, staleTier, load);
    if (this.events.lists.miss.length !== 0) this.events.emit('miss', { key });
    if (load === undefined) {
      const protectedLoader = this.stampede?.protect(key, loader, options);
      load = this.startLoad(key, protectedLoader ?? loader, options, undefined, '', prefetched);
    }
    return load.promise as Promise<T>;
  }

  /** A stale entry is allowed: return it now or after `softTimeout`, refreshing once. */
  private serveStale<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    stale: Entry,
    tier: string,
    inFlight: Load | undefined,
  ): T | Promise<T> {
    const load = inFlight ?? this.startRefresh(key, loader, options, stale, tier, false);
    const soft = options?.softTimeout ?? this.softTimeout;
    if (soft === undefined || soft === 0) {
      this.emitStale(key, tier, 'revalidating');
      return stale.v as T;
    }
    return new Promise<T>((resolve) => {
      let settled = false;
      const timer =
        soft === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(() => {
              settled = true;
              this.emitStale(key, tier, 'soft-timeout');
              resolve(stale.v as T);
            }, soft);
      load.promise.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value as T);
        },
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.emitStale(key, tier, 'fail-safe');
          resolve(stale.v as T);
        },
      );
    });
  }

  /** XFetch: refresh early with probability growing as `f` nears, scaled by the load time. */
  private maybeRefreshEarly<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    entry: Entry,
    tier: string,
    now: number,
  ): void {
    const option = options?.earlyRefresh;
    const beta = option === undefined ? this.beta : betaOf(option);
    if (beta === 0) return;
    const scale = entry.d * beta;
    // -ln(random()) is at most ~744.4 for any positive double, so farther from expiry the
    // rule cannot fire: skip drawing a random number on most hits (only random() === 0
    // exactly, which would mean "always", is treated as the smallest positive double).
    if (entry.f - now > scale * MAX_EXP_SAMPLE) return;
    // -ln(random) is an Exp(1) sample: refresh when now + delta*beta*sample reaches expiry.
    if (now - scale * Math.log(this.random()) < entry.f) return;
    if (this.loads.has(key)) return;
    this.startRefresh(key, loader, options, entry, tier, true);
  }

  private startRefresh<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    entry: Entry,
    tier: string,
    early: boolean,
  ): Load {
    const load = this.startLoad(key, loader, options, entry, tier);
    if (this.events.lists.refresh.length !== 0) this.events.emit('refresh', { key, early });
    load.promise.catch((error: unknown) =>
      this.logThrottled(
        'warn',
        `refresh:${codeOf(error)}`,
        `tiercache: background refresh of "${key}" failed; the cached value is kept`,
        { key, error },
      ),
    );
    return load;
  }

  private startLoad<T>(
    key: string,
    loader: Loader<T>,
    options: GetOptions | undefined,
    stale: Entry | undefined,
    staleTier: string,
    prefetched?: TagPrefetch,
  ): Load {
    const controller = new AbortController();
    const started = this.clock();
    let result: Promise<unknown>;
    const ctx: LoaderContext<T> =
      stale === undefined
        ? { key, signal: controller.signal }
        : { key, signal: controller.signal, stale: stale.v as T };
    const prepare = this.prepareLoad([key], options, prefetched);
    if (prepare === undefined) {
      try {
        result = Promise.resolve(loader(ctx));
      } catch (error) {
        result = Promise.reject(error);
      }
    } else {
      // Versions are read before the loader runs: a value it reads can then only be older
      // than an invalidation that changed them, never look newer.
      result = prepare.then((prepared) => {
        load.prepared = prepared[0];
        return loader(ctx);
      });
    }
    const hard = options?.hardTimeout ?? this.hardTimeout;
    if (hard !== undefined) result = withHardTimeout(result, hard, controller, key);
    const load: Load = { promise: result, stale, staleTier, invalidated: false, controller };
    load.promise = result.then(
      (value) => {
        const durationMs = this.clock() - started;
        if (this.loads.get(key) === load) this.loads.delete(key);
        // A stampede-protected load already stored its value, or read another process's.
        if (value instanceof StampedeResult) return settleStampede(this.events, key, value);
        if (this.events.lists.load.length !== 0) this.events.emit('load', { key, durationMs });
        if (!load.invalidated && this.closing === undefined) {
          this.store(key, value, options, durationMs, load.prepared);
        }
        return value;
      },
      (error: unknown) => {
        const durationMs = this.clock() - started;
        if (this.loads.get(key) === load) this.loads.delete(key);
        if (this.events.lists['load:error'].length !== 0) {
          this.events.emit('load:error', { key, error, durationMs });
        }
        throw error;
      },
    );
    // A load can outlive every waiter (stale served, soft timeout): never an unhandled rejection.
    load.promise.catch(noop);
    this.loads.set(key, load);
    return load;
  }

  /** What the stampede protocol (stampede.ts) may use of this manager. */
  private stampedeHost(locker: Locker): StampedeHost {
    return {
      locker,
      events: this.events,
      clock: () => this.clock(),
      readL2: (key, options) => this.lookupL2(key, options),
      store: (key, signal, value, options, durationMs) => {
        // The same rule as a plain load's: a load detached by delete/set/clear/close (or
        // replaced by a newer one) never writes.
        const load = this.loads.get(key);
        if (load === undefined || load.controller.signal !== signal || load.invalidated) {
          return undefined;
        }
        if (this.closing !== undefined) return undefined;
        return this.store(key, value, options, durationMs, load.prepared);
      },
      track: (promise) => {
        this.pending.add(promise);
        promise.then(() => this.pending.delete(promise));
      },
      warn: (message, key, error) =>
        this.logThrottled('warn', `stampede:${codeOf(error)}`, message, { key, error }),
    };
  }

  /** One loader call for many keys; registers a per-key load so concurrent `get`s join it. */
  private startBatchLoad<T>(
    keys: string[],
    loader: BatchLoader<T>,
    options: GetOptions | undefined,
    stale: Map<string, { entry: Entry; tier: string }> | undefined,
  ): Promise<Map<string, unknown>> {
    const controller = new AbortController();
    const started = this.clock();
    let result: Promise<unknown>;
    let prepared: Prepared[] | undefined;
    const prepare = this.prepareLoad(keys, options);
    if (prepare === undefined) {
      try {
        result = Promise.resolve(loader([...keys], { signal: controller.signal }));
      } catch (error) {
        result = Promise.reject(error);
      }
    } else {
      result = prepare.then((p) => {
        prepared = p;
        return loader([...keys], { signal: controller.signal });
      });
    }
    const hard = options?.hardTimeout ?? this.hardTimeout;
    if (hard !== undefined) result = withHardTimeout(result, hard, controller, keys[0] as string);
    const loads = keys.map((key): Load => {
      const s = stale?.get(key);
      return {
        promise: result,
        stale: s?.entry,
        staleTier: s?.tier ?? '',
        invalidated: false,
        controller,
      };
    });
    const detach = (): void => {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        if (this.loads.get(key) === loads[i]) this.loads.delete(key);
      }
    };
    const batch = result.then(
      (raw) => {
        const durationMs = this.clock() - started;
        detach();
        if (typeof raw !== 'object' || raw === null) {
          throw new TypeError('getMany loader must resolve to a Map or a plain object');
        }
        const map: Map<string, unknown> =
          raw instanceof Map ? raw : new Map(Object.entries(raw as Record<string, unknown>));
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          if (this.events.lists.load.length !== 0) this.events.emit('load', { key, durationMs });
          if (!(loads[i] as Load).invalidated && this.closing === undefined) {
            this.store(key, map.get(key), options, durationMs, prepared?.[i]);
          }
        }
        return map;
      },
      (error: unknown) => {
        const durationMs = this.clock() - started;
        detach();
        if (this.events.lists['load:error'].length !== 0) {
          for (const key of keys) this.events.emit('load:error', { key, error, durationMs });
        }
        throw error;
      },
    );
    batch.catch(noop);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const load = loads[i] as Load;
      load.promise = batch.then((map) => map.get(key));
      load.promise.catch(noop);
      this.loads.set(key, load);
    }
    return batch;
  }

  /** Shares one L2 read among concurrent misses of `key`. */
  private lookupL2(key: string, options: GetOptions | undefined): Promise<Entry | undefined> {
    const existing = this.lookups.get(key);
    if (existing !== undefined) return existing.promise;
    const lookup: Lookup = { promise: NO_ENTRY, invalidated: false };
    // Registered before the read starts: a tier that fails synchronously still cleans up.
    this.lookups.set(key, lookup);
    const l2 = this.l2 as CacheTier;
    // Sent in the same tick as the GET, so both travel in one round trip (auto-pipelining).
    const tags = options?.tags;
    let prefetched: Promise<TagStamp | null> | undefined;
    let read: Promise<unknown>;
    try {
      if (tags !== undefined && tags.length > 0 && this.tagStore !== undefined) {
        prefetched = this.readTags(tags);
        lookup.tags = { list: tags, stamp: prefetched };
      }
      read = Promise.resolve(l2.get(key));
    } catch (error) {
      this.endLookup(key, lookup);
      this.tierError(l2, 'get', key, error);
      return NO_ENTRY;
    }
    lookup.promise = read.then(
      (raw) => {
        let entry: Entry | undefined;
        try {
          entry = this.l2Entry(key, raw);
          if (entry !== undefined && entry.t !== undefined) {
            // Tagged: the versions decide, asynchronously; the lookup ends when they answer.
            const checked = this.checkTags(key, lookup, options, entry, prefetched);
            checked.then(
              () => this.endLookup(key, lookup),
              () => this.endLookup(key, lookup),
            );
            return checked;
          }
          // A delete during the read must not resurrect the old value in L1.
          if (entry !== undefined && !lookup.invalidated) {
            this.fillL1(key, entry, options, this.clock());
          }
        } finally {
          if (entry === undefined || entry.t === undefined) this.endLookup(key, lookup);
        }
        return entry;
      },
      (error: unknown) => {
        this.endLookup(key, lookup);
        this.tierError(l2, 'get', key, error);
        return undefined;
      },
    );
    return lookup.promise;
  }

  private endLookup(key: string, lookup: Lookup): void {
    if (this.lookups.get(key) === lookup) this.lookups.delete(key);
    // Drop the value too: a deleted Map slot can keep its object alive until the next full GC
    // (V8), and a lookup reaching the decoded value made every scavenge promote megabytes
    // of dead values (+50 % CPU per L2 hit, measured with --trace-gc).
    lookup.promise = NO_ENTRY;
    lookup.tags = undefined;
  }

  /** What L2 answered, as a fresh-or-stale entry; `undefined` for a miss, junk or expired. */
  private l2Entry(key: string, raw: unknown): Entry | undefined {
    if (raw === undefined) return undefined;
    const entry = toEntry(raw);
    if (entry === undefined) {
      this.invalidEntry(this.l2 as CacheTier, 'get', key);
      return undefined;
    }
    return this.clock() >= entry.s ? undefined : entry;
  }

  private async checkTags(
    key: string,
    lookup: Lookup,
    options: GetOptions | undefined,
    entry: Entry,
    prefetched: Promise<TagStamp | null> | undefined,
  ): Promise<Entry | undefined> {
    if (!(await this.tagsCurrent(entry.t as TagStamp, prefetched))) return undefined;
    if (!lookup.invalidated) this.fillL1(key, entry, options, this.clock());
    return entry;
  }

  private fillL1(key: string, entry: Entry, options: SetOptions | undefined, now: number): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    if (entry.t !== undefined && this.tagState.isStale(entry.t)) return;
    const ttl = Math.max(1, Math.ceil(entry.s - now));
    const cap = options?.l1Ttl;
    const l1Ttl = cap !== undefined && cap < ttl ? Math.max(1, Math.ceil(cap)) : ttl;
    if (l1Ttl > this.l1Horizon) this.l1Horizon = l1Ttl;
    this.tierWrite(l1, key, entry, l1Ttl);
  }

  /**
   * Wraps `value` in an entry and writes L1 and L2. The returned promise (L2 latency) is
   * awaited by `set` but not by a load: a miss returns as soon as the loader answers, the L2
   * write goes on with its failure caught and emitted.
   */
  private store(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    durationMs: number,
    prepared?: Prepared,
    explicit = false,
  ): Promise<void> | undefined {
    if (value === undefined) return undefined;
    const tags = prepared?.tags;
    // Tag versions unknown: an unstamped entry would survive an invalidation of its tags.
    if (tags === null) return undefined;
    let ttl: number;
    if (value === null) {
      ttl = options?.negativeTtl ?? this.negativeTtl;
    } else {
      const policy = options?.policy;
      ttl = options?.ttl ?? (policy !== undefined ? policy.ttl * 1000 : this.ttl);
    }
    const jitter = options?.jitter ?? this.jitter;
    // Jitter only ever shortens: ttl * (1 - ratio * [0, 1)).
    const fresh = Math.max(1, Math.floor(jitter > 0 ? ttl * (1 - jitter * this.random()) : ttl));
    const maxStale = options?.maxStale ?? this.maxStale;
    const now = this.clock();
    const entry = new Entry(value, now, now + fresh, now + fresh + maxStale, durationMs, tags);
    const tierTtl = Math.ceil(fresh + maxStale);
    let a: Promise<void> | undefined;
    // A tag invalidated while this value loaded: this instance already knows it is stale.
    if (this.l1 !== undefined && (tags === undefined || !this.tagState.isStale(tags))) {
      const cap = options?.l1Ttl;
      const l1Ttl = cap !== undefined && cap < tierTtl ? Math.max(1, Math.ceil(cap)) : tierTtl;
      if (l1Ttl > this.l1Horizon) this.l1Horizon = l1Ttl;
      a = this.tierWrite(this.l1, key, entry, l1Ttl);
    }
    const b =
      this.l2 === undefined
        ? undefined
        : this.versioned === undefined
          ? this.tierWrite(this.l2, key, entry, tierTtl, explicit)
          : this.versionedWrite(this.versioned, key, entry, tierTtl, prepared, explicit);
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Promise.all([a, b]).then(noop);
  }

  /**
   * Writes `entry` to `tier`; failures are reported. `explicit`: an L2 write of `set()`,
   * whose failure leaves the key's previous value in L2 while the bus tells the other
   * instances to read it from there: remembered, so the key is deleted from L2 again.
   */
  private tierWrite(
    tier: CacheTier,
    key: string,
    entry: Entry,
    ttlMs: number,
    explicit = false,
  ): Promise<void> | undefined {
    let r: unknown;
    try {
      r = tier.set(key, entry, ttlMs);
    } catch (error) {
      this.writeFailed(tier, key, error, explicit);
      return undefined;
    }
    if (!isThenable(r)) return undefined;
    const p = Promise.resolve(r).then(noop, (error: unknown) => {
      this.writeFailed(tier, key, error, explicit);
    });
    this.pending.add(p);
    p.then(() => this.pending.delete(p));
    return p;
  }

  private tierDelete(tier: CacheTier | undefined, key: string): boolean | Promise<boolean> {
    if (tier === undefined) return false;
    let r: unknown;
    try {
      r = tier.delete(key);
    } catch (error) {
      this.tierError(tier, 'delete', key, error);
      return false;
    }
    if (!isThenable(r)) return r === true;
    return Promise.resolve(r).then(
      (existed) => existed === true,
      (error: unknown) => {
        this.tierError(tier, 'delete', key, error);
        return false;
      },
    );
  }

  private async tierClear(tier: CacheTier | undefined): Promise<void> {
    if (tier === undefined) return;
    try {
      await tier.clear();
    } catch (error) {
      this.tierError(tier, 'clear', undefined, error);
    }
  }

  /** The L2 half of a delete: with `versionedWrites`, also moves the key's version. */
  private deleteL2(key: string): boolean | Promise<boolean> {
    const r = this.tryDeleteL2(key);
    if (typeof r !== 'object') return r === true;
    return r.then((existed) => existed === true);
  }

  /**
   * {@link deleteL2}, telling a failure (`undefined`: reported, and remembered for a redo)
   * from "did not exist" (`false`).
   */
  private tryDeleteL2(key: string): boolean | undefined | Promise<boolean | undefined> {
    const l2 = this.l2;
    if (l2 === undefined) return false;
    const versioned = this.versioned;
    let r: unknown;
    try {
      r = versioned === undefined ? l2.delete(key) : versioned.deleteVersioned(key);
    } catch (error) {
      this.l2DeleteFailed(key, error);
      return undefined;
    }
    if (!isThenable(r)) return r === true;
    return Promise.resolve(r).then(
      (existed) => existed === true,
      (error: unknown) => {
        this.l2DeleteFailed(key, error);
        return undefined;
      },
    );
  }

  private writeFailed(tier: CacheTier, key: string, error: unknown, explicit: boolean): void {
    this.tierError(tier, 'set', key, error);
    if (explicit) this.redo?.deleteFailed(key);
  }

  private l2DeleteFailed(key: string, error: unknown): void {
    this.tierError(this.l2 as CacheTier, 'delete', key, error);
    this.redo?.deleteFailed(key);
  }

  /** What {@link DeleteRedo} may use of this manager. */
  private redoHost(): RedoHost {
    return {
      events: this.events,
      deleteL2: (key) => {
        const r = this.tryDeleteL2(key);
        if (typeof r !== 'object') return r !== undefined;
        return r.then((existed) => existed !== undefined);
      },
      dropLocal: (key) => {
        this.invalidateInFlight(key);
        this.dropL1(key);
      },
      publish: (keys) => this.publish({ type: 'keys', keys }, undefined),
      log: (level, id, message, meta) => {
        if (level === 'debug') this.logger.debug?.(message, meta);
        else this.logThrottled(level, id, message, meta);
      },
    };
  }

  /**
   * The L2 half of a store with `versionedWrites`: an explicit `set` gives the key a new
   * version; a load's value is written only if the version read before its loader ran is
   * still current, and when it is not, this instance's L1 copy (already written) goes too.
   */
  private versionedWrite(
    tier: VersionedTier,
    key: string,
    entry: Entry,
    ttlMs: number,
    prepared: Prepared | undefined,
    explicit: boolean,
  ): Promise<void> | undefined {
    let r: unknown;
    try {
      if (explicit) {
        r = tier.setVersioned(key, entry, ttlMs);
      } else {
        const version = prepared?.version;
        // The version could not be read: no safe way to write L2 (L1 stays, as the bus and
        // this process's own deletes still reach it).
        if (typeof version !== 'string') return undefined;
        r = tier.setIfVersion(key, entry, ttlMs, version);
      }
    } catch (error) {
      this.writeFailed(tier, key, error, explicit);
      return undefined;
    }
    const p = Promise.resolve(r).then(
      (stored) => {
        if (stored === false) this.dropL1(key);
      },
      (error: unknown) => {
        this.writeFailed(tier, key, error, explicit);
      },
    );
    this.pending.add(p);
    p.then(() => this.pending.delete(p));
    return p;
  }

  /**
   * Starts reading what a load must know before its loader runs: its tags' versions and,
   * with `versionedWrites`, each key's version. `undefined` when there is nothing to read.
   * Never rejects: what cannot be read is `null`.
   */
  private prepareLoad(
    keys: readonly string[],
    options: GetOptions | undefined,
    prefetched?: TagPrefetch,
  ): Promise<Prepared[]> | undefined {
    const tags = options?.tags;
    const withTags = tags !== undefined && tags.length > 0 && this.tagStore !== undefined;
    const versioned = this.versioned;
    if (!withTags && versioned === undefined) return undefined;
    // Versions read with the L2 GET were read before this loader runs too: reuse them.
    const stamp = !withTags
      ? undefined
      : prefetched !== undefined && sameTags(prefetched.list, tags)
        ? prefetched.stamp
        : this.readTags(tags);
    const versions = versioned === undefined ? undefined : this.readVersions(versioned, keys);
    return Promise.all([stamp, versions]).then(([t, v]) =>
      keys.map((_, i) => ({ tags: t, version: v === undefined ? undefined : v[i] })),
    );
  }

  /** The current versions of `tags` as a stamp, or `null` when the store failed. */
  private readTags(tags: readonly string[]): Promise<TagStamp | null> {
    const store = this.tagStore as TagVersionStore;
    let read: Promise<readonly number[]>;
    try {
      read = store.get(tags);
    } catch (error) {
      read = Promise.reject(error);
    }
    return read.then(
      (versions) => {
        // No prototype: a tag named "__proto__" must stay a tag.
        const stamp: Record<string, number> = Object.create(null);
        for (let i = 0; i < tags.length; i++) {
          const v = versions[i];
          if (typeof v !== 'number' || !Number.isFinite(v)) return null;
          stamp[tags[i] as string] = v;
        }
        return stamp;
      },
      (error: unknown) => {
        this.tierError(TAGS, 'versions', undefined, error);
        return null;
      },
    );
  }

  private readVersions(tier: VersionedTier, keys: readonly string[]): Promise<(string | null)[]> {
    let read: Promise<readonly string[]>;
    try {
      read = Promise.resolve(tier.getVersions(keys));
    } catch (error) {
      read = Promise.reject(error);
    }
    return read.then(
      (versions) => keys.map((_, i) => (typeof versions[i] === 'string' ? versions[i] : null)),
      (error: unknown) => {
        this.tierError(tier, 'versions', keys.length === 1 ? keys[0] : undefined, error);
        return keys.map(() => null);
      },
    );
  }

  /**
   * Whether an L2 entry's tag stamp is still current: nothing newer known here, and equal to
   * the store's versions (equal, not "at least": a version the store lost reads as 0 and
   * makes the entry stale, the safe side). `prefetched` holds versions read with the GET.
   */
  private async tagsCurrent(
    stamp: TagStamp,
    prefetched: Promise<TagStamp | null> | undefined,
  ): Promise<boolean> {
    if (this.tagState.isStale(stamp)) return false;
    // Without a store the stamp cannot be checked: treat the entry as a miss.
    if (this.tagStore === undefined) return false;
    let current = prefetched === undefined ? null : await prefetched;
    const missing: string[] = [];
    for (const tag in stamp) if (current === null || !(tag in current)) missing.push(tag);
    if (missing.length > 0) {
      const more = await this.readTags(missing);
      if (more === null) return false;
      current = current === null ? more : Object.assign(Object.create(null), current, more);
    }
    const versions = current as TagStamp;
    for (const tag in stamp) if (versions[tag] !== stamp[tag]) return false;
    return true;
  }

  /** `getMany`'s L2 answers with outdated tag stamps become misses (one store read for all). */
  private async dropStaleTagged(results: TierReadResult[]): Promise<TierReadResult[]> {
    const tags = new Set<string>();
    for (const r of results) {
      const stamp = r.hit ? stampOf(r.value) : undefined;
      if (stamp !== undefined) for (const tag in stamp) tags.add(tag);
    }
    if (tags.size === 0) return results;
    const current = this.tagStore === undefined ? null : await this.readTags([...tags]);
    return results.map((r) => {
      const stamp = r.hit ? stampOf(r.value) : undefined;
      if (stamp === undefined) return r;
      if (current === null || this.tagState.isStale(stamp)) return MISS;
      for (const tag in stamp) if (current[tag] !== stamp[tag]) return MISS;
      return r;
    });
  }

  /** Publishes a `keys` message; when it fails, the keys are published again later (redo). */
  private async publishKeys(keys: string[], key: string | undefined): Promise<void> {
    if (!(await this.publish({ type: 'keys', keys }, key))) this.redo?.publishFailed(keys);
  }

  /**
   * Publishes on the bus (when there is one); a failure is emitted and logged, not thrown.
   * Resolves to whether the bus accepted the message (`true` without a bus).
   */
  private async publish(message: InvalidationMessage, key: string | undefined): Promise<boolean> {
    const bus = this.bus;
    if (bus === undefined) return true;
    try {
      await bus.publish(message);
      return true;
    } catch (error) {
      this.tierError(BUS, 'publish', key, error);
      return false;
    }
  }

  /** Applies another instance's invalidation to this instance's L1 and loads. */
  private applyMessage(message: InvalidationMessage): void {
    if (this.closing !== undefined) return;
    switch (message.type) {
      case 'keys':
        for (const key of message.keys) {
          this.invalidateInFlight(key);
          this.dropL1(key);
        }
        return;
      case 'tags':
        this.raiseTags(message.tags, message.versions);
        return;
      case 'pattern':
        this.dropMatching(message.pattern);
        return;
      case 'clear':
        this.clearLocal();
        return;
    }
  }

  private raiseTags(tags: readonly string[], versions: readonly number[]): void {
    if (!this.tagState.raise(tags, versions, this.clock(), this.l1Horizon)) this.clearLocal();
  }

  private dropL1(key: string): void {
    if (this.l1 !== undefined) void this.tierDelete(this.l1, key);
  }

  /**
   * Empties L1 and detaches every load and L2 read: after missed messages (or too many
   * tags to remember) nothing held here can be trusted.
   */
  private clearLocal(): void {
    for (const load of this.loads.values()) load.invalidated = true;
    for (const lookup of this.lookups.values()) lookup.invalidated = true;
    for (const read of this.multiReads) read.all = true;
    this.loads.clear();
    this.lookups.clear();
    this.tagState.clear();
    const l1 = this.l1;
    if (l1 === undefined) return;
    try {
      const r = l1.clear();
      if (isThenable(r)) {
        Promise.resolve(r).catch((error: unknown) => this.tierError(l1, 'clear', undefined, error));
      }
    } catch (error) {
      this.tierError(l1, 'clear', undefined, error);
    }
  }

  /**
   * Drops the L1 entries, loads and L2 reads whose keys match `pattern`; returns how many L1
   * entries went. Without a matcher or an L1 that lists its keys, clears L1 entirely.
   */
  private dropMatching(pattern: string): number {
    const l1 = this.l1;
    const match = this.matchPattern?.(pattern);
    if (match === undefined || (l1 !== undefined && typeof l1.keys !== 'function')) {
      this.clearLocal();
      return 0;
    }
    for (const [key, load] of this.loads) {
      if (!match(key)) continue;
      load.invalidated = true;
      this.loads.delete(key);
    }
    for (const [key, lookup] of this.lookups) {
      if (!match(key)) continue;
      lookup.invalidated = true;
      this.lookups.delete(key);
    }
    // Reads in flight do not list their keys: none of theirs goes to L1.
    for (const read of this.multiReads) read.all = true;
    if (l1 === undefined) return 0;
    let keys: string[];
    try {
      keys = [...(l1.keys as () => Iterable<string>).call(l1)];
    } catch (error) {
      this.tierError(l1, 'clear', undefined, error);
      this.clearLocal();
      return 0;
    }
    let dropped = 0;
    for (const key of keys) {
      if (!match(key)) continue;
      this.dropL1(key);
      dropped++;
    }
    return dropped;
  }

  private invalidateInFlight(key: string): void {
    const load = this.loads.get(key);
    if (load !== undefined) {
      load.invalidated = true;
      this.loads.delete(key);
    }
    const lookup = this.lookups.get(key);
    if (lookup !== undefined) {
      lookup.invalidated = true;
      this.lookups.delete(key);
    }
    for (const read of this.multiReads) {
      if (read.dropped === undefined) read.dropped = new Set([key]);
      else read.dropped.add(key);
    }
  }

  private emitStale(
    key: string,
    tier: string,
    reason: StaleServedEvent['reason'] | undefined,
  ): void {
    if (this.events.lists.hit.length !== 0) this.events.emit('hit', { key, tier, stale: true });
    if (reason !== undefined && this.events.lists['stale:served'].length !== 0) {
      this.events.emit('stale:served', { key, reason });
    }
  }

  private invalidEntry(tier: CacheTier, operation: TierOperation, key: string): void {
    this.tierError(
      tier,
      operation,
      key,
      new InvalidEntryError(
        `Tier "${tier.name}" returned a value for "${key}" that is not a tiercache entry; treated as a miss`,
      ),
    );
  }

  private tierError(
    tier: { readonly name: string },
    operation: TierOperation,
    key: string | undefined,
    cause: unknown,
  ): void {
    const error = toError(cause);
    if (this.events.lists['tier:error'].length !== 0) {
      this.events.emit(
        'tier:error',
        key === undefined
          ? { tier: tier.name, operation, error }
          : { tier: tier.name, operation, key, error },
      );
    }
    this.logThrottled(
      ERROR_LEVEL_OPERATIONS.has(operation) ? 'error' : 'warn',
      `${tier.name}:${operation}:${codeOf(error)}`,
      `tiercache: ${tier.name} ${operation} failed (${codeOf(error)}); continuing without it`,
      { tier: tier.name, operation, key, error },
    );
  }

  /**
   * Logs the first occurrence of a failure class at `level`, then demotes repeats to debug
   * for {@link LOG_THROTTLE_MS}: an L2 outage must not write one warning per request. The
   * next warning carries how many were suppressed. Events are never throttled.
   */
  private logThrottled(
    level: 'warn' | 'error',
    id: string,
    message: string,
    meta: Record<string, unknown>,
  ): void {
    const now = this.clock();
    const state = this.logState.get(id);
    if (state !== undefined && now < state.until) {
      state.suppressed++;
      this.logger.debug?.(message, meta);
      return;
    }
    this.logState.set(id, { until: now + LOG_THROTTLE_MS, suppressed: 0 });
    const suppressed = state?.suppressed ?? 0;
    this.logger[level](message, suppressed > 0 ? { ...meta, suppressed } : meta);
  }
}

/** Creates a {@link CacheManager}; same as `new CacheManager(options)`. */
export function cacheManager(options: CacheManagerOptions = {}): CacheManager {
  return new CacheManager(options);
}
