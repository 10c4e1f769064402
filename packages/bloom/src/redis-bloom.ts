import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import {
  BloomConfigMismatchError,
  BloomUnavailableError,
  InvalidOptionsError,
  RebuildConflictError,
} from './errors.js';
import { type BloomHash, murmur3Hash } from './hash.js';
import { sameSlotPrefix } from './hash-tag.js';
import { type BloomStats, InProcessBloom, positionsOf, statsOf } from './in-process-bloom.js';
import { fn, parseOptions, sizeFor, sizingShape } from './options.js';
import { consume, type Rebuildable, type RebuildOptions, type RebuildSource } from './rebuild.js';
import {
  ADD,
  CLEAR,
  HAS,
  REBUILD_ABORT,
  REBUILD_EXTEND,
  REBUILD_FINISH,
  REBUILD_START,
  runScript,
  runScriptPipelined,
  SIZE_MISMATCH,
} from './scripts.js';
import { type BloomSize, estimateFalsePositiveRate } from './sizing.js';

/** Options of {@link redisBloom}. Every instance sharing `key` must use the same sizing and hash. */
export interface RedisBloomOptions {
  /**
   * An ioredis `Redis` or `Cluster` client, used as it is and never closed. Give it a
   * `commandTimeout` (or put a {@link BloomGuard} with a `timeout` in front), so a hung
   * Redis cannot stall reads.
   */
  client: Redis | Cluster;
  /**
   * The Redis key of the bitmap. Helper keys for rebuilds share its Cluster slot: a key
   * without a hash tag is wrapped in one (`{bloom:users}:rebuild:lease`).
   */
  key: string;
  /** Distinct items the filter is sized for (`n`). Past it the error rate climbs. */
  expectedItems: number;
  /**
   * Target false-positive rate at `expectedItems` items (`p`), between 0 and 1.
   * @default 0.01
   */
  falsePositiveRate?: number;
  /**
   * Hash of a key into two 32-bit values; positions are computed here, in JS, and sent to
   * Redis. Must be the same function in every instance.
   * @default murmur3Hash
   */
  hash?: BloomHash;
  /**
   * Keys per pipeline in `addMany` / `hasMany` (one script call per key, one round trip
   * per batch).
   * @default 1000
   */
  batchSize?: number;
  /**
   * Milliseconds a rebuild lease lives without renewal; a rebuild renews it after every
   * batch of its source, and a crashed rebuild frees it after this long.
   * @default 60_000
   */
  leaseTtl?: number;
  /**
   * Called when `add` or `has` finds no filter at `key` (never built, or lost to a restart
   * or an eviction). `has` then answers `true` ("might exist") and `add` records nothing:
   * rebuild the filter from the source of truth. Called on every such operation; debounce
   * it yourself.
   * @default undefined
   */
  onMissing?: (key: string) => void;
}

const isClient = (value: unknown): value is Redis | Cluster =>
  typeof value === 'object' &&
  value !== null &&
  ['evalsha', 'eval', 'pipeline', 'getBuffer', 'bitcount'].every(
    (name) => typeof (value as Record<string, unknown>)[name] === 'function',
  );

const schema = z.strictObject({
  ...sizingShape,
  client: z.custom<Redis | Cluster>(isClient, 'expected an ioredis Redis or Cluster instance'),
  key: z.string().min(1),
  hash: fn<BloomHash>(),
  batchSize: z.int().positive().optional(),
  leaseTtl: z.int().positive().max(2_147_483_647).optional(),
  onMissing: fn<(key: string) => void>(),
});

/** Upload size of one SETRANGE when a rebuilt bitmap is sent to Redis. */
const UPLOAD_CHUNK = 1 << 20;

/**
 * A Bloom filter shared by every instance through one Redis bitmap. The `k` bit positions
 * are computed in JS (MurmurHash3 double hashing) and set or tested by a Lua script in one
 * round trip; `addMany` / `hasMany` pipeline many keys per round trip. One key means one
 * Cluster slot, so it works on Redis Cluster.
 *
 * Unlike a filter per process, a key added by any instance is seen by all: no false
 * negatives across instances. Methods throw {@link BloomUnavailableError} when Redis
 * fails; a {@link BloomGuard} turns that into "might exist".
 */
export class RedisBloom implements BloomSize, Rebuildable {
  readonly key: string;
  readonly expectedItems: number;
  readonly falsePositiveRate: number;
  readonly bits: number;
  readonly hashes: number;
  readonly bytes: number;
  readonly #client: Redis | Cluster;
  readonly #hash: BloomHash;
  readonly #pair = new Uint32Array(2);
  readonly #positions: number[] = [];
  readonly #batchSize: number;
  readonly #leaseTtl: number;
  readonly #onMissing: ((key: string) => void) | undefined;
  readonly #addKeys: readonly [string, string];
  readonly #helperPrefix: string;

  /** Prefer {@link redisBloom}, which validates the options. */
  constructor(
    size: BloomSize,
    options: Pick<RedisBloomOptions, 'client' | 'key' | 'hash' | 'batchSize' | 'leaseTtl'> & {
      onMissing?: ((key: string) => void) | undefined;
      helperPrefix: string;
    },
  ) {
    this.key = options.key;
    this.expectedItems = size.expectedItems;
    this.falsePositiveRate = size.falsePositiveRate;
    this.bits = size.bits;
    this.hashes = size.hashes;
    this.bytes = size.bytes;
    this.#client = options.client;
    this.#hash = options.hash ?? murmur3Hash;
    this.#batchSize = options.batchSize ?? 1000;
    this.#leaseTtl = options.leaseTtl ?? 60_000;
    this.#onMissing = options.onMissing;
    this.#helperPrefix = options.helperPrefix;
    this.#addKeys = [this.key, `${options.helperPrefix}:rebuild:mirror`];
  }

  /**
   * Records `key` for every instance. Resolves once Redis has set the bits. When the filter
   * does not exist, nothing is recorded (see `onMissing`), except into a running rebuild.
   */
  async add(key: string): Promise<void> {
    try {
      const found = await runScript(this.#client, ADD, this.#addKeys, this.#args(key));
      if (found === 0) this.#onMissing?.(this.key);
    } catch (error) {
      throw this.#fail('add', error);
    }
  }

  /** Records every key of `keys`, `batchSize` keys per round trip; returns how many. */
  async addMany(keys: Iterable<string>): Promise<number> {
    let count = 0;
    let batch: (string | number)[][] = [];
    const flush = async (): Promise<void> => {
      const replies = await runScriptPipelined(this.#client, ADD, this.#addKeys, batch);
      if (replies.includes(0)) this.#onMissing?.(this.key);
      batch = [];
    };
    try {
      for (const key of keys) {
        batch.push(this.#args(key));
        count++;
        if (batch.length === this.#batchSize) await flush();
      }
      if (batch.length > 0) await flush();
    } catch (error) {
      throw this.#fail('addMany', error);
    }
    return count;
  }

  /**
   * `false`: no instance ever added `key` (since the last rebuild). `true`: one might have,
   * or the filter does not exist (a missing filter knows nothing, so it cannot say
   * "absent"). Throws {@link BloomUnavailableError} or {@link BloomConfigMismatchError}.
   */
  async has(key: string): Promise<boolean> {
    let reply: unknown;
    try {
      reply = await runScript(this.#client, HAS, [this.key], this.#args(key));
    } catch (error) {
      throw this.#fail('has', error);
    }
    if (reply === -1) this.#onMissing?.(this.key);
    return reply !== 0;
  }

  /** `has` for every key, in order, `batchSize` keys per round trip. */
  async hasMany(keys: Iterable<string>): Promise<boolean[]> {
    const answers: boolean[] = [];
    let batch: (string | number)[][] = [];
    const flush = async (): Promise<void> => {
      const replies = await runScriptPipelined(this.#client, HAS, [this.key], batch);
      let missing = false;
      for (const reply of replies) {
        if (reply === -1) missing = true;
        answers.push(reply !== 0);
      }
      if (missing) this.#onMissing?.(this.key);
      batch = [];
    };
    try {
      for (const key of keys) {
        batch.push(this.#args(key));
        if (batch.length === this.#batchSize) await flush();
      }
      if (batch.length > 0) await flush();
    } catch (error) {
      throw this.#fail('hasMany', error);
    }
    return answers;
  }

  /** Whether the bitmap exists in Redis (it does after `clear()` or a rebuild). */
  async exists(): Promise<boolean> {
    try {
      return (await this.#client.exists(this.key)) === 1;
    } catch (error) {
      throw this.#fail('exists', error);
    }
  }

  /**
   * Replaces the filter with an empty one, atomically. Use it to create the filter when the
   * source of truth is empty too; otherwise {@link rebuild} it from the source, or keys
   * added before would read as "definitely absent".
   */
  async clear(): Promise<void> {
    try {
      await runScript(this.#client, CLEAR, [this.key], [this.bytes]);
    } catch (error) {
      throw this.#fail('clear', error);
    }
  }

  /** Deletes the bitmap. `has` answers "might exist" until it is created again. */
  async delete(): Promise<void> {
    try {
      await this.#client.del(this.key);
    } catch (error) {
      throw this.#fail('delete', error);
    }
  }

  /** Fill ratio, estimated item count and current error rate (`BITCOUNT`, O(bytes)). */
  async stats(): Promise<BloomStats> {
    try {
      return statsOf(this, await this.#client.bitcount(this.key));
    } catch (error) {
      throw this.#fail('stats', error);
    }
  }

  /** The false-positive rate expected once `addedCount` distinct items were added. */
  estimatedFalsePositiveRate(addedCount: number): number {
    return estimateFalsePositiveRate(this, addedCount);
  }

  /**
   * The bitmap (`bytes` long), or `undefined` when the filter does not exist. Pass it as
   * `data` to {@link inProcessBloom} with the same sizing for a local, synchronous copy —
   * which misses every key added after this call.
   */
  async export(): Promise<Uint8Array | undefined> {
    let buffer: Buffer | null;
    try {
      buffer = await this.#client.getBuffer(this.key);
    } catch (error) {
      throw this.#fail('export', error);
    }
    if (buffer === null || buffer.length === 0) return undefined;
    if (buffer.length !== this.bytes) throw this.#fail('export', mismatchReply(buffer.length));
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  }

  /**
   * Rebuilds the shared filter from `source` (see {@link rebuild}): the new bits are built
   * in this process, uploaded to a temporary key, merged with the keys other instances
   * added meanwhile, and swapped in with one `RENAME`. Readers see the old filter until
   * then. Only one rebuild per filter runs at a time: another one rejects with
   * {@link RebuildConflictError}.
   */
  async rebuild(source: RebuildSource, options?: RebuildOptions): Promise<number> {
    const token = randomUUID();
    const [, mirror] = this.#addKeys;
    const lease = `${this.#helperPrefix}:rebuild:lease`;
    const staging = `${this.#helperPrefix}:rebuild:staging:${token}`;
    const keys = [lease, mirror, staging];
    let started: unknown;
    try {
      started = await runScript(this.#client, REBUILD_START, keys, [
        token,
        this.#leaseTtl,
        this.bytes,
      ]);
    } catch (error) {
      throw this.#fail('rebuild', error);
    }
    if (started !== 1) {
      throw new RebuildConflictError(`Bloom filter "${this.key}": another rebuild is running`);
    }
    try {
      const local = new InProcessBloom(this, this.#hash);
      const count = await consume(
        source,
        options,
        (key) => local.add(key),
        async () => {
          const extended = await runScript(this.#client, REBUILD_EXTEND, keys, [
            token,
            this.#leaseTtl,
          ]);
          if (extended !== 1) throw this.#leaseLost();
        },
      );
      await this.#upload(staging, local.export());
      const finished = await runScript(
        this.#client,
        REBUILD_FINISH,
        [...keys, this.key],
        [token, this.bytes],
      );
      if (finished === 0) throw this.#leaseLost();
      if (finished !== 1) {
        throw new BloomUnavailableError(
          `Bloom filter "${this.key}": rebuild upload was incomplete (staging key expired?)`,
        );
      }
      return count;
    } catch (error) {
      await runScript(this.#client, REBUILD_ABORT, keys, [token]).catch(() => undefined);
      throw this.#fail('rebuild', error);
    }
  }

  #leaseLost(): RebuildConflictError {
    return new RebuildConflictError(
      `Bloom filter "${this.key}": the rebuild lease expired before the rebuild finished; ` +
        'read the source faster than leaseTtl per batch, or raise leaseTtl',
    );
  }

  async #upload(staging: string, data: Uint8Array): Promise<void> {
    const pipeline = this.#client.pipeline();
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
    for (let offset = 0; offset < bytes.length; offset += UPLOAD_CHUNK) {
      pipeline.setrange(staging, offset, bytes.subarray(offset, offset + UPLOAD_CHUNK));
      // Right after the key exists, so a crash mid-upload cannot leave it behind forever.
      if (offset === 0) pipeline.pexpire(staging, this.#leaseTtl);
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error !== null) throw error;
  }

  /** Script arguments for `key`: the filter's byte length, then its `k` bit positions. */
  #args(key: string): (string | number)[] {
    this.#hash(key, this.#pair);
    positionsOf(this.#pair, this, this.#positions);
    const args: (string | number)[] = new Array(this.hashes + 1);
    args[0] = this.bytes;
    for (let i = 0; i < this.hashes; i++) args[i + 1] = this.#positions[i]!;
    return args;
  }

  #fail(operation: string, error: unknown): Error {
    if (
      error instanceof BloomUnavailableError ||
      error instanceof BloomConfigMismatchError ||
      error instanceof RebuildConflictError
    ) {
      return error;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(`${SIZE_MISMATCH} `)) {
      const actual = message.slice(SIZE_MISMATCH.length + 1);
      return new BloomConfigMismatchError(
        `Bloom filter "${this.key}" holds ${actual} bytes, but expectedItems ` +
          `${this.expectedItems} at falsePositiveRate ${this.falsePositiveRate} size it at ` +
          `${this.bytes} bytes: every instance must use the same sizing (or rebuild the filter)`,
        { cause: error },
      );
    }
    if (message.startsWith('WRONGTYPE')) {
      return new BloomConfigMismatchError(
        `Bloom filter "${this.key}": the key holds a non-string value`,
        { cause: error },
      );
    }
    return new BloomUnavailableError(
      `Bloom filter "${this.key}": ${operation} failed: ${message}`,
      { cause: error },
    );
  }
}

const mismatchReply = (length: number): Error => new Error(`${SIZE_MISMATCH} ${length}`);

/**
 * Creates a Bloom filter shared through a Redis bitmap at `key`, sized like
 * {@link inProcessBloom} (1.2 bytes per expected item at 1 %). The bitmap is not created
 * here: call `clear()` once for a new, empty set, or `rebuild(source)` from the source of
 * truth. Throws {@link InvalidOptionsError}.
 *
 * @example
 * const users = redisBloom({ client: redis, key: 'bloom:users', expectedItems: 1_000_000 });
 * await users.rebuild(allUserIds()); // once, and periodically
 * await users.add('user:42'); // every instance sees it
 * await users.has('user:43'); // false: no instance added it
 */
export function redisBloom(options: RedisBloomOptions): RedisBloom {
  const o = parseOptions('redisBloom', schema, options);
  const size = sizeFor('redisBloom', o.expectedItems, o.falsePositiveRate ?? 0.01);
  const helperPrefix = sameSlotPrefix(o.key);
  if (helperPrefix === undefined) {
    throw new InvalidOptionsError(
      `Invalid redisBloom options: key: "${o.key}" contains "}" without a non-empty ` +
        '{hash tag}, so no rebuild key can share its Cluster slot; add a tag such as {users}',
    );
  }
  return new RedisBloom(size, {
    client: o.client,
    key: o.key,
    hash: o.hash,
    batchSize: o.batchSize,
    leaseTtl: o.leaseTtl,
    onMissing: o.onMissing,
    helperPrefix,
  });
}
