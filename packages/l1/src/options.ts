import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';

/** How values are protected from mutation by callers. See {@link MemoryTierOptions.clone}. */
export type CloneMode = 'none' | 'freeze' | 'structured';

/** Options of {@link memoryTier}. Validated once, at construction. */
export interface MemoryTierOptions {
  /**
   * Most entries kept; the least recently used is evicted past it. lru-cache preallocates its
   * index for this many entries (about 50 bytes each), so keep it realistic. At most
   * {@link MAX_ENTRIES} (2^24 = 16,777,216, ≈ 850 MB of index); larger values would exhaust
   * memory at construction.
   * @default 1000
   */
  max?: number;
  /**
   * Most bytes kept, as measured by `sizeCalculation`; least recently used entries are evicted
   * past it. `false` turns byte accounting off (no size computed per `set`: a little faster, but
   * memory is then bounded by `max` only).
   * @default 52_428_800 (50 MiB)
   */
  maxSize?: number | false;
  /**
   * Largest single entry in bytes. A larger value is not stored (any older value under that key
   * is removed) and an `'evict'` event with reason `'oversize'` is reported; `set` does not
   * throw. Requires `maxSize`.
   * @default maxSize
   */
  maxEntrySize?: number;
  /**
   * The size of an entry in bytes. Called once per `set` (not when `maxSize` is `false`);
   * fractions are rounded up and values below 1 count as 1.
   * @default estimateSize(value) + the key's size — see {@link estimateSize}
   */
  sizeCalculation?: (value: unknown, key: string) => number;
  /**
   * Default time to live in milliseconds, used when `set` is called without one. Expired
   * entries are never returned; they are removed lazily (see the README).
   * @default 300_000 (5 minutes)
   */
  ttl?: number;
  /**
   * `'none'` stores and returns the caller's object itself: fastest, but a caller that mutates
   * a value it got from the cache changes what every other reader sees. `'freeze'` deep-freezes
   * the value (in place) on `set`, so such a mutation throws in strict mode; reads stay free.
   * `'structured'` stores a `structuredClone` and returns a fresh clone on every read: full
   * isolation, at the cost of a copy per `set` and per hit.
   * @default 'none'
   */
  clone?: CloneMode;
  /**
   * Current time in milliseconds (non-decreasing), for TTLs. Inject a fake clock in tests. When
   * given, it is read on every TTL check; by default lru-cache uses `performance.now()`, read at
   * most once per millisecond.
   * @default performance.now
   */
  clock?: () => number;
}

/** Options after validation and defaults. */
export interface ResolvedMemoryTierOptions {
  readonly max: number;
  readonly maxSize: number | false;
  readonly maxEntrySize: number;
  readonly sizeCalculation: ((value: unknown, key: string) => number) | undefined;
  readonly ttl: number;
  readonly clone: CloneMode;
  readonly clock: (() => number) | undefined;
}

const DEFAULT_MAX = 1000;
/**
 * Largest `max`: lru-cache allocates `max` slots up front, so `2 ** 26` already aborts Node with
 * an out-of-memory error and `2 ** 27` throws a RangeError from inside lru-cache.
 */
export const MAX_ENTRIES = 2 ** 24;
const DEFAULT_MAX_SIZE = 50 * 1024 * 1024;
const DEFAULT_TTL = 5 * 60 * 1000;

const fn = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { message: 'expected a function' });

const positiveInt = z.number().int().positive();

const schema = z.strictObject({
  max: positiveInt.max(MAX_ENTRIES).optional(),
  maxSize: z.union([positiveInt, z.literal(false)]).optional(),
  maxEntrySize: positiveInt.optional(),
  sizeCalculation: fn<(value: unknown, key: string) => number>().optional(),
  ttl: positiveInt.optional(),
  clone: z.enum(['none', 'freeze', 'structured']).optional(),
  clock: fn<() => number>().optional(),
});

/** Validates `memoryTier()` options and applies defaults. Throws {@link InvalidOptionsError}. */
export function resolveOptions(options: MemoryTierOptions | undefined): ResolvedMemoryTierOptions {
  const parsed = schema.safeParse(options ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    let field = issue?.path.length ? `options.${issue.path.join('.')}` : 'options';
    let message = issue?.message ?? 'invalid options';
    if (issue?.code === 'unrecognized_keys') {
      field = `options.${issue.keys[0]}`;
      message = 'unknown option';
    }
    throw new InvalidOptionsError(`${field}: ${message}`, { cause: parsed.error });
  }
  const o = parsed.data;
  const maxSize = o.maxSize ?? DEFAULT_MAX_SIZE;
  if (maxSize === false) {
    if (o.maxEntrySize !== undefined) {
      throw new InvalidOptionsError('options.maxEntrySize: requires maxSize (it is false)');
    }
    if (o.sizeCalculation !== undefined) {
      throw new InvalidOptionsError('options.sizeCalculation: has no effect when maxSize is false');
    }
  } else if (o.maxEntrySize !== undefined && o.maxEntrySize > maxSize) {
    throw new InvalidOptionsError(
      `options.maxEntrySize: must not exceed maxSize (${maxSize}), got ${o.maxEntrySize}`,
    );
  }
  return {
    max: o.max ?? DEFAULT_MAX,
    maxSize,
    maxEntrySize: maxSize === false ? 0 : (o.maxEntrySize ?? maxSize),
    sizeCalculation: o.sizeCalculation,
    ttl: o.ttl ?? DEFAULT_TTL,
    clone: o.clone ?? 'none',
    clock: o.clock,
  };
}
