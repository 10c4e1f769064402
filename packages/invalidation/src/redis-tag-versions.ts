import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { TagStoreError } from './errors.js';
import { hasFunctions, parseOptions, positiveMs, withTimeout } from './options.js';
import type { TagVersionStore } from './types.js';

/** Options of {@link redisTagVersions}. */
export interface RedisTagVersionsOptions {
  /** The ioredis `Redis` or `Cluster` client (used as is, never closed). */
  client: Redis | Cluster;
  /**
   * Prepended to a tag to form its version key (`<prefix><tag>`). Give every cache its own.
   * @default 'tc:tag:'
   */
  prefix?: string;
  /**
   * How long a tag's version is kept after its last invalidation, in ms. When it is gone
   * (expired, or evicted), entries stamped with it read as stale once and are reloaded; a
   * stale entry is never served. Keep it above your longest entry TTL to avoid those reloads.
   * @default 86_400_000 (one day)
   */
  ttl?: number;
  /**
   * How long each read or invalidation waits for Redis before rejecting with `TagStoreError`.
   * @default 1_000
   */
  timeout?: number;
  /**
   * Milliseconds clock, seeding a version that does not exist yet (see {@link RedisTagVersions}).
   * @default Date.now
   */
  clock?: () => number;
}

/**
 * KEYS[1] the tag's version key; ARGV[1] seed, ARGV[2] ttl ms. Returns the new version.
 * A missing version starts from the seed (clock in µs) rather than 0, so a version that was
 * lost (TTL, eviction) and recreated is still greater than every version handed out before:
 * instances ordering versions by "newest wins" never go backwards.
 */
const BUMP_SOURCE = `if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
local v = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v`;
const BUMP_SHA = createHash('sha1').update(BUMP_SOURCE).digest('hex');

interface Commands {
  readonly isCluster?: boolean;
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<Array<string | null>>;
  evalsha(sha: string, numkeys: number, ...args: Array<string | number>): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: Array<string | number>): Promise<unknown>;
}

const schema = z.strictObject({
  client: z.custom<Redis | Cluster>(
    (value) => hasFunctions(value, ['get', 'mget', 'evalsha', 'eval']),
    'expected an ioredis Redis or Cluster client',
  ),
  prefix: z.string().optional(),
  ttl: positiveMs.optional(),
  timeout: positiveMs.optional(),
  clock: z.custom<() => number>((v) => typeof v === 'function', 'expected a function').optional(),
});

/**
 * Tag versions in Redis (implements `TagVersionStore` of `@tiercache/core`): one small
 * integer key per invalidated tag. `invalidate` is one script per tag (EXISTS/SET, INCR,
 * PEXPIRE on that one key): O(1) whatever the number of entries carrying the tag, nothing to
 * scan, nothing to clean up (entries expire on their own TTL, versions on `ttl`), and
 * Cluster-safe (single-key scripts; tags of one call are sent in parallel). `get` is one
 * MGET (one GET per tag on a Cluster). A tag never invalidated has no key and reads as 0.
 */
export class RedisTagVersions implements TagVersionStore {
  /** Prepended to each tag to form its key. */
  readonly prefix: string;
  readonly #raw: Commands;
  readonly #cluster: boolean;
  readonly #ttl: number;
  readonly #timeout: number;
  readonly #clock: () => number;

  /** Prefer {@link redisTagVersions}. Throws `InvalidOptionsError` for bad options. */
  constructor(options: RedisTagVersionsOptions) {
    const o = parseOptions('redisTagVersions', schema, options);
    this.#raw = o.client as unknown as Commands;
    this.#cluster = this.#raw.isCluster === true;
    this.prefix = o.prefix ?? 'tc:tag:';
    this.#ttl = o.ttl ?? 86_400_000;
    this.#timeout = o.timeout ?? 1_000;
    this.#clock = o.clock ?? Date.now;
  }

  /** The current version of each tag, in order (0 when never invalidated). */
  get(tags: readonly string[]): Promise<readonly number[]> {
    if (tags.length === 0) return Promise.resolve([]);
    const raw = this.#raw;
    const keys = tags.map((tag) => this.prefix + tag);
    const reply = this.#cluster ? Promise.all(keys.map((key) => raw.get(key))) : raw.mget(keys);
    return this.#bounded(reply, 'read').then((values) =>
      values.map((v) => (v === null ? 0 : Number(v))),
    );
  }

  /** Moves each tag's version forward; resolves to the new versions, in order. */
  invalidate(tags: readonly string[]): Promise<readonly number[]> {
    const raw = this.#raw;
    const seed = this.#clock() * 1000;
    const ttl = this.#ttl;
    return this.#bounded(
      Promise.all(
        tags.map((tag) =>
          raw
            .evalsha(BUMP_SHA, 1, this.prefix + tag, seed, ttl)
            .catch((error: unknown) =>
              error instanceof Error && error.message.startsWith('NOSCRIPT')
                ? raw.eval(BUMP_SOURCE, 1, this.prefix + tag, seed, ttl)
                : Promise.reject(error),
            ),
        ),
      ),
      'invalidate',
    ).then((versions) => versions.map(Number));
  }

  #bounded<T>(reply: Promise<T>, what: string): Promise<T> {
    return withTimeout(
      reply,
      this.#timeout,
      () => new TagStoreError(`Redis did not answer the tag ${what} within ${this.#timeout} ms`),
    ).catch((error: unknown) => {
      if (error instanceof TagStoreError) throw error;
      throw new TagStoreError(`Tag ${what} failed`, { cause: error });
    });
  }
}

/**
 * Creates the Redis tag version store. Pass it to every `CacheManager` sharing the L2
 * (`tagVersions` option).
 *
 * @example
 * const cache = new CacheManager({ l1, l2, bus, tagVersions: redisTagVersions({ client: redis }) });
 * await cache.get(`stats:${id}`, load, { tags: [`agent:${id}`, 'leaderboard'] });
 * await cache.invalidateTag('leaderboard'); // one INCR, whatever the number of entries
 */
export function redisTagVersions(options: RedisTagVersionsOptions): RedisTagVersions {
  return new RedisTagVersions(options);
}
