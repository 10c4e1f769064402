import { z } from 'zod';
import { InvalidOptionsError, RebuildConflictError } from './errors.js';
import { type BloomHash, murmur3Hash } from './hash.js';
import { fn, parseOptions, sizeFor, sizingShape } from './options.js';
import { consume, type Rebuildable, type RebuildOptions, type RebuildSource } from './rebuild.js';
import { type BloomSize, estimateFalsePositiveRate, estimateItems } from './sizing.js';

/** Options of {@link inProcessBloom}. */
export interface InProcessBloomOptions {
  /** Distinct items the filter is sized for (`n`). Past it the error rate climbs. */
  expectedItems: number;
  /**
   * Target false-positive rate at `expectedItems` items (`p`), between 0 and 1.
   * @default 0.01
   */
  falsePositiveRate?: number;
  /**
   * Hash of a key into two 32-bit values, from which the `k` bit positions derive.
   * @default murmur3Hash
   */
  hash?: BloomHash;
  /**
   * Initial bit array, `bytes` long, as returned by {@link InProcessBloom.export} or
   * {@link RedisBloom.export} for a filter of the same sizing and hash. Copied.
   * @default undefined (an empty filter)
   */
  data?: Uint8Array;
}

/** What a filter holds, computed from the bits that are set. */
export interface BloomStats {
  /** Bits set to 1. */
  readonly bitsSet: number;
  /** `bitsSet / bits`; about 0.5 when the filter holds `expectedItems` items. */
  readonly fillRatio: number;
  /** Distinct items added, estimated from `bitsSet`. */
  readonly estimatedItems: number;
  /** Current false-positive rate, `fillRatio ^ hashes`. */
  readonly estimatedFalsePositiveRate: number;
}

const schema = z.strictObject({
  ...sizingShape,
  hash: fn<BloomHash>(),
  data: z.instanceof(Uint8Array, { error: 'expected a Uint8Array' }).optional(),
});

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** Bits set to 1 in `data`. */
export function countBits(data: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < data.length; i++) count += POPCOUNT[data[i]!]!;
  return count;
}

/** Statistics of a filter of shape `size` whose bit array has `bitsSet` ones. */
export function statsOf(size: Pick<BloomSize, 'bits' | 'hashes'>, bitsSet: number): BloomStats {
  const fillRatio = bitsSet / size.bits;
  return {
    bitsSet,
    fillRatio,
    estimatedItems: estimateItems(size, bitsSet),
    estimatedFalsePositiveRate: fillRatio ** size.hashes,
  };
}

/**
 * Writes the `size.hashes` bit positions of a hashed key into `out`, by Kirsch–Mitzenmacher
 * double hashing: `g_i = (h1 + i * h2) mod m`, with `h2 mod m` replaced by 1 when it is 0
 * (which would put all `k` positions on one bit).
 */
export function positionsOf(
  pair: Uint32Array,
  size: Pick<BloomSize, 'bits' | 'hashes'>,
  out: number[],
): void {
  const m = size.bits;
  let position = pair[0]! % m;
  const step = pair[1]! % m || 1;
  for (let i = 0; i < size.hashes; i++) {
    out[i] = position;
    position += step;
    if (position >= m) position -= m;
  }
}

/**
 * A Bloom filter in this process's memory: `has` answers synchronously, in well under a
 * microsecond. Bits are stored most-significant-bit first, exactly as Redis `SETBIT` lays
 * out a string, so {@link export} output can seed a shared filter and vice versa.
 *
 * In a deployment of several instances, each one's in-process filter only knows the keys
 * added in that process: another instance's keys are "definitely absent" here. Fill it
 * from the source of truth ({@link rebuild}) or use {@link redisBloom}; see the README.
 */
export class InProcessBloom implements BloomSize, Rebuildable {
  readonly expectedItems: number;
  readonly falsePositiveRate: number;
  readonly bits: number;
  readonly hashes: number;
  readonly bytes: number;
  readonly #hash: BloomHash;
  readonly #pair = new Uint32Array(2);
  #data: Uint8Array;
  #size = 0;
  // The bit array a running rebuild fills; adds go to it too, so none is lost by the swap.
  #pending: Uint8Array | undefined;
  #pendingSize = 0;

  /** Prefer {@link inProcessBloom}, which validates the options. */
  constructor(size: BloomSize, hash: BloomHash = murmur3Hash, data?: Uint8Array) {
    this.expectedItems = size.expectedItems;
    this.falsePositiveRate = size.falsePositiveRate;
    this.bits = size.bits;
    this.hashes = size.hashes;
    this.bytes = size.bytes;
    this.#hash = hash;
    this.#data = data === undefined ? new Uint8Array(size.bytes) : Uint8Array.from(data);
    if (data !== undefined) this.#size = estimateItems(this, countBits(this.#data));
  }

  /**
   * Distinct items added: adds that set at least one new bit. A duplicate is not counted,
   * nor (rarely) a new key whose bits were all already set; after `data` was imported or a
   * rebuild, an estimate from the bits that are set.
   */
  get size(): number {
    return this.#size;
  }

  /** Records `key`. From now on `has(key)` is `true`. */
  add(key: string): void {
    this.#hash(key, this.#pair);
    if (this.#set(this.#data)) this.#size++;
    if (this.#pending !== undefined && this.#set(this.#pending)) this.#pendingSize++;
  }

  /** Records every key of `keys`; returns how many were read. */
  addMany(keys: Iterable<string>): number {
    let count = 0;
    for (const key of keys) {
      this.add(key);
      count++;
    }
    return count;
  }

  /**
   * `false`: `key` was definitely never added (to this filter, in this process).
   * `true`: it might have been — or it is a false positive, with about `falsePositiveRate`
   * probability while the filter holds at most `expectedItems` items.
   */
  has(key: string): boolean {
    const pair = this.#pair;
    this.#hash(key, pair);
    const data = this.#data;
    const m = this.bits;
    let position = pair[0]! % m;
    const step = pair[1]! % m || 1;
    for (let i = 0; i < this.hashes; i++) {
      if ((data[position >>> 3]! & (128 >>> (position & 7))) === 0) return false;
      position += step;
      if (position >= m) position -= m;
    }
    return true;
  }

  /** Forgets every key. */
  clear(): void {
    this.#data.fill(0);
    this.#size = 0;
  }

  /** Fill ratio, estimated item count and current error rate (one pass over the bits). */
  stats(): BloomStats {
    return statsOf(this, countBits(this.#data));
  }

  /**
   * The false-positive rate expected once `addedCount` distinct items were added,
   * `(1 - e^(-k n / m))^k`.
   * @param addedCount - defaults to {@link size}
   */
  estimatedFalsePositiveRate(addedCount: number = this.#size): number {
    return estimateFalsePositiveRate(this, addedCount);
  }

  /** A copy of the bit array (`bytes` long, Redis bit order). */
  export(): Uint8Array {
    return Uint8Array.from(this.#data);
  }

  /**
   * Replaces the contents with exactly the keys of `source` (see {@link rebuild}). `has`
   * keeps answering from the old bits until the new ones are complete; keys added
   * meanwhile go into both.
   */
  async rebuild(source: RebuildSource, options?: RebuildOptions): Promise<number> {
    if (this.#pending !== undefined) {
      throw new RebuildConflictError('A rebuild of this filter is already running');
    }
    const pending = new Uint8Array(this.bytes);
    this.#pending = pending;
    this.#pendingSize = 0;
    try {
      const count = await consume(source, options, (key) => {
        this.#hash(key, this.#pair);
        if (this.#set(pending)) this.#pendingSize++;
      });
      this.#data = pending;
      this.#size = this.#pendingSize;
      return count;
    } finally {
      this.#pending = undefined;
    }
  }

  /** Sets the bits of the pair last hashed into `#pair`; true if one of them was 0. */
  #set(data: Uint8Array): boolean {
    const pair = this.#pair;
    const m = this.bits;
    let position = pair[0]! % m;
    const step = pair[1]! % m || 1;
    let fresh = false;
    for (let i = 0; i < this.hashes; i++) {
      const index = position >>> 3;
      const mask = 128 >>> (position & 7);
      const byte = data[index]!;
      if ((byte & mask) === 0) {
        data[index] = byte | mask;
        fresh = true;
      }
      position += step;
      if (position >= m) position -= m;
    }
    return fresh;
  }
}

/**
 * Creates an in-process Bloom filter sized for `expectedItems` at `falsePositiveRate`
 * (m = -n ln p / (ln 2)^2 bits, k = m / n ln 2 hashes). Throws {@link InvalidOptionsError}.
 *
 * @example
 * const seen = inProcessBloom({ expectedItems: 100_000, falsePositiveRate: 0.01 });
 * seen.add('user:42');
 * seen.has('user:42'); // true
 * seen.has('user:43'); // false (definitely absent), or true 1 % of the time
 */
export function inProcessBloom(options: InProcessBloomOptions): InProcessBloom {
  const o = parseOptions('inProcessBloom', schema, options);
  const size = sizeFor('inProcessBloom', o.expectedItems, o.falsePositiveRate ?? 0.01);
  if (o.data !== undefined && o.data.length !== size.bytes) {
    throw new InvalidOptionsError(
      `Invalid inProcessBloom options: data: expected ${size.bytes} bytes for this sizing, ` +
        `got ${o.data.length}`,
    );
  }
  return new InProcessBloom(size, o.hash, o.data);
}
