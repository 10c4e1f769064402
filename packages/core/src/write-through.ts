import { asError, type CacheWriter, checkedDelete, checkedSet, withTtl } from './checked-set.js';
import { InvalidKeyError, InvalidOptionsError } from './errors.js';
import type { CacheLogger, SetOptions } from './options.js';

/** What {@link WriteThroughOptions.write} receives besides the value. */
export interface WriteContext {
  /** The cache key being written. */
  readonly key: string;
}

/** Payload of {@link WriteThroughOptions.onCacheError}. */
export interface WriteThroughCacheError {
  readonly key: string;
  /** Why the cache could not take the new value (a tier's typed error, or `set`'s). */
  readonly error: Error;
  /** Whether the fallback `delete` went through (if not, L2 may serve the old value until its TTL). */
  readonly invalidated: boolean;
}

/** Options of {@link writeThrough}. */
export interface WriteThroughOptions<T, R> {
  /**
   * Writes `value` to the source of truth (an `UPDATE`, an API call). Runs first; when it
   * rejects, the cache is not touched and `writeThrough` rejects with its error.
   */
  readonly write: (value: T, ctx: WriteContext) => R | Promise<R>;
  /**
   * Cache what `write` resolved to instead of `value`, e.g. the row of `UPDATE … RETURNING *`
   * with its server-side defaults. A result of `undefined` then deletes the key.
   * @default false
   */
  readonly cacheResult?: boolean;
  /**
   * Fresh TTL in milliseconds of the cached value (wins over `set.ttl`).
   * @default the manager's `ttl`
   */
  readonly ttl?: number;
  /**
   * Other `set` options (`maxStale`, `l1Ttl`…).
   * @default undefined
   */
  readonly set?: SetOptions;
  /**
   * Called when the source write succeeded but the cache could not take the new value (the
   * key was deleted instead). `writeThrough` still resolves: the source of truth has the
   * write.
   * @default logs a warning through `logger`
   */
  readonly onCacheError?: (event: WriteThroughCacheError) => void;
  /**
   * Where the default `onCacheError` logs.
   * @default console
   */
  readonly logger?: CacheLogger;
}

const noop = (): void => {};

/** Per cache, per key: the tail of the write-throughs queued in this process. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Write-through: writes `value` to the source of truth, then to the cache, so the next read
 * (here, and on instances sharing L2) sees it without a load.
 *
 * 1. `write(value)`. If it rejects, `writeThrough` rejects with that error and the cache is
 *    untouched (it still holds what matches the source).
 * 2. `cache.set(key, value)` — L1 and L2; other instances' L1 through the manager's
 *    invalidation bus, when one is configured.
 * 3. If the cache could not take it (a tier failed, or the manager was closed), the key is
 *    deleted (`cache.delete`) rather than left holding the old value, and `onCacheError` is
 *    called. `writeThrough` resolves anyway: the write itself succeeded.
 *
 * Write-throughs of one key in one process run one after another, in call order, so the
 * cache ends with the value the source got last. Across processes two writers can still
 * interleave (A writes the DB, B writes the DB, B sets, A sets: the cache holds A's older
 * value until its TTL); where that matters, hold a distributed lock around the call
 * (`@tiercache/lock`) or delete instead of set.
 *
 * Resolves to what `write` resolved to.
 *
 * @throws {InvalidKeyError} `key` is not a non-empty string.
 * @throws {InvalidOptionsError} `write` is not a function.
 *
 * @example
 * ```ts
 * await writeThrough(cache, `agent:${id}`, agent, {
 *   write: (a) => db.query('UPDATE agents SET name = $2 WHERE id = $1', [id, a.name]),
 *   ttl: 5 * 60_000,
 * });
 * ```
 */
export function writeThrough<T, R = void>(
  cache: CacheWriter,
  key: string,
  value: T,
  options: WriteThroughOptions<T, R>,
): Promise<R> {
  if (typeof key !== 'string' || key === '') {
    return Promise.reject(new InvalidKeyError('Invalid cache key: expected a non-empty string'));
  }
  if (typeof options?.write !== 'function') {
    return Promise.reject(
      new InvalidOptionsError('Invalid writeThrough option "write": expected a function'),
    );
  }
  let perKey = queues.get(cache);
  if (perKey === undefined) {
    perKey = new Map();
    queues.set(cache, perKey);
  }
  const queue = perKey;
  const previous = queue.get(key);
  const run = (): Promise<R> => writeThenCache(cache, key, value, options);
  const result = previous === undefined ? run() : previous.then(run, run);
  const tail = result.then(noop, noop);
  queue.set(key, tail);
  void tail.then(() => {
    if (queue.get(key) === tail) queue.delete(key);
  });
  return result;
}

async function writeThenCache<T, R>(
  cache: CacheWriter,
  key: string,
  value: T,
  options: WriteThroughOptions<T, R>,
): Promise<R> {
  const result = await options.write(value, { key });
  const toCache = options.cacheResult === true ? result : value;
  let failure: Error | undefined;
  try {
    failure = await checkedSet(cache, key, toCache, withTtl(options.set, options.ttl));
  } catch (error) {
    failure = asError(error);
  }
  if (failure === undefined) return result;

  let invalidated = false;
  try {
    invalidated = (await checkedDelete(cache, key)) === undefined;
  } catch {
    // A closed manager: its tiers are closed too, nothing more can be done from here.
  }
  const event: WriteThroughCacheError = { key, error: failure, invalidated };
  if (options.onCacheError !== undefined) {
    try {
      options.onCacheError(event);
    } catch {
      // The write succeeded; a throwing callback must not turn it into a failure.
    }
  } else {
    (options.logger ?? console).warn(
      `tiercache: write-through of "${key}" reached the source but not the cache; the key was ${
        invalidated ? 'invalidated' : 'NOT invalidated'
      }`,
      { key, error: failure },
    );
  }
  return result;
}
