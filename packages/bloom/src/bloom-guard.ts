import { z } from 'zod';
import { BloomUnavailableError } from './errors.js';
import { fn, parseOptions } from './options.js';

/**
 * Anything that answers "might `key` be in the set?": both built-in filters, a raw
 * `bloom-filters` `BloomFilter`, or your own. `false` must mean "definitely not".
 */
export interface MembershipFilter {
  has(key: string): boolean | PromiseLike<boolean>;
}

/** Options of {@link bloomGuard}. */
export interface BloomGuardOptions {
  /** The filter consulted before every guarded lookup. */
  filter: MembershipFilter;
  /**
   * Milliseconds to wait for an asynchronous answer (a shared filter in Redis) before
   * failing open, or `false` to wait as long as the filter takes. Synchronous filters are
   * never timed.
   * @default 250
   */
  timeout?: number | false;
  /**
   * Told about every failed check (the guard answered "might exist" instead): a
   * {@link BloomUnavailableError} for Redis failures and timeouts, or what the filter threw.
   * @default undefined (failures are only counted in `stats.failedOpen`)
   */
  onError?: (error: Error, key: string) => void;
}

/** Options of {@link BloomGuard.wrap}. */
export interface BloomGuardWrapOptions<A extends unknown[], R> {
  /**
   * Answers a call whose key is definitely absent, instead of the wrapped function — e.g.
   * `() => null` for "no such entity", or the loader itself to skip the cache lookup.
   */
  onAbsent: (...args: A) => R | Promise<R>;
  /**
   * The filter key of a call.
   * @default the first argument, as a string
   */
  key?: (...args: A) => string;
}

/** Counters of a {@link BloomGuard}, since it was created. */
export interface BloomGuardStats {
  /** Checks made. */
  readonly checks: number;
  /** Checks answered "definitely absent". */
  readonly absent: number;
  /** Checks that failed (error or timeout) and answered "might exist". */
  readonly failedOpen: number;
}

const schema = z.strictObject({
  filter: z.custom<MembershipFilter>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { has?: unknown }).has === 'function',
    'expected a filter with a has(key) method',
  ),
  timeout: z
    .union([z.literal(false), z.int().positive().max(2_147_483_647)], {
      error: 'expected a positive number of milliseconds or false',
    })
    .optional(),
  onError: fn<(error: Error, key: string) => void>(),
});

const isPromiseLike = (value: unknown): value is PromiseLike<boolean> =>
  typeof (value as PromiseLike<boolean> | undefined)?.then === 'function';

/**
 * The guide's `SmartCache` check, standing alone: asks a Bloom filter before a lookup and
 * skips the lookup when the key is definitely absent. It **fails open**: when the filter
 * throws, rejects or times out, the answer is "might exist" — a broken filter costs a
 * lookup, it never reports an existing key as absent.
 */
export class BloomGuard {
  readonly #filter: MembershipFilter;
  readonly #timeout: number | false;
  readonly #onError: ((error: Error, key: string) => void) | undefined;
  #checks = 0;
  #absent = 0;
  #failedOpen = 0;

  /** Prefer {@link bloomGuard}, which validates the options. */
  constructor(options: BloomGuardOptions) {
    this.#filter = options.filter;
    this.#timeout = options.timeout ?? 250;
    this.#onError = options.onError;
  }

  /** Counters so far. */
  get stats(): BloomGuardStats {
    return { checks: this.#checks, absent: this.#absent, failedOpen: this.#failedOpen };
  }

  /**
   * `false` means `key` is definitely absent: skip the lookup. Synchronous when the filter
   * is (an in-process filter costs no microtask); never throws or rejects.
   */
  mightExist(key: string): boolean | Promise<boolean> {
    this.#checks++;
    let answer: boolean | PromiseLike<boolean>;
    try {
      answer = this.#filter.has(key);
    } catch (error) {
      return this.#failOpen(error, key);
    }
    if (isPromiseLike(answer)) return this.#settle(answer, key);
    if (answer === false) this.#absent++;
    return answer !== false;
  }

  /**
   * Wraps a lookup so that it runs only when its key might exist; otherwise `onAbsent`
   * answers. The wrapped function always returns a promise.
   *
   * @example
   * // Only ids in the filter reach the cache or the database.
   * const getUser = guard.wrap((id: string) => cache.get(`user:${id}`, () => db.user(id)), {
   *   onAbsent: () => null,
   * });
   */
  wrap<A extends unknown[], R>(
    lookup: (...args: A) => R | Promise<R>,
    options: BloomGuardWrapOptions<A, R>,
  ): (...args: A) => Promise<R> {
    const { onAbsent } = options;
    const keyOf = options.key ?? ((...args: A) => String(args[0]));
    return async (...args: A): Promise<R> => {
      const might = this.mightExist(keyOf(...args));
      const exists = typeof might === 'boolean' ? might : await might;
      return exists ? lookup(...args) : onAbsent(...args);
    };
  }

  #settle(answer: PromiseLike<boolean>, key: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let done = false;
      const timer =
        this.#timeout === false
          ? undefined
          : setTimeout(() => {
              if (done) return;
              done = true;
              resolve(
                this.#failOpen(
                  new BloomUnavailableError(
                    `Bloom filter check of "${key}" took more than ${this.#timeout} ms`,
                  ),
                  key,
                ),
              );
            }, this.#timeout);
      answer.then(
        (value) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (value === false) this.#absent++;
          resolve(value !== false);
        },
        (error: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(this.#failOpen(error, key));
        },
      );
    });
  }

  #failOpen(error: unknown, key: string): true {
    this.#failedOpen++;
    if (this.#onError !== undefined) {
      const reported =
        error instanceof Error
          ? error
          : new BloomUnavailableError(`Bloom filter check of "${key}" failed: ${String(error)}`, {
              cause: error,
            });
      try {
        this.#onError(reported, key);
      } catch {
        // A throwing error hook must not turn a fail-open answer into a failed read.
      }
    }
    return true;
  }
}

/**
 * Creates a {@link BloomGuard} over `filter`. Throws {@link InvalidOptionsError}.
 *
 * @example
 * const guard = bloomGuard({ filter: userIds, onError: (e) => log.warn(e.message) });
 * if (!(await guard.mightExist('user:42'))) return null; // definitely no such user
 */
export function bloomGuard(options: BloomGuardOptions): BloomGuard {
  return new BloomGuard(parseOptions('bloomGuard', schema, options));
}
