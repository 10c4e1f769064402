/** The shape of a filter: derived from the expected item count and the target error rate. */
export interface BloomSize {
  /** Items the filter is sized for. */
  readonly expectedItems: number;
  /** Target false-positive rate at `expectedItems` items. */
  readonly falsePositiveRate: number;
  /** Bits in the filter, `m = ceil(-n ln p / (ln 2)^2)`. */
  readonly bits: number;
  /** Bit positions per item, `k = round(m / n * ln 2)`, at least 1. */
  readonly hashes: number;
  /** Bytes of the bit array (`ceil(m / 8)`), also the length of the Redis string. */
  readonly bytes: number;
}

/** Largest filter: a Redis string holds at most 512 MiB, i.e. 2^32 bits. */
export const MAX_BITS = 2 ** 32;

/**
 * Sizes a filter with the standard formulas: `m = -n ln p / (ln 2)^2` bits and
 * `k = m / n * ln 2` hash functions. At p = 1 % that is 9.59 bits (1.2 bytes) per item and
 * k = 7. Arguments are not validated here (the filter factories validate their options).
 */
export function bloomSize(expectedItems: number, falsePositiveRate: number): BloomSize {
  const bits = Math.ceil((-expectedItems * Math.log(falsePositiveRate)) / Math.LN2 ** 2);
  const hashes = Math.max(1, Math.round((bits / expectedItems) * Math.LN2));
  return { expectedItems, falsePositiveRate, bits, hashes, bytes: Math.ceil(bits / 8) };
}

/**
 * Expected false-positive rate once `items` distinct items were added:
 * `(1 - e^(-k n / m))^k`. It rises quickly past `expectedItems` — at twice the expected
 * count a 1 % filter answers "might exist" wrongly about 16 % of the time.
 */
export function estimateFalsePositiveRate(
  size: Pick<BloomSize, 'bits' | 'hashes'>,
  items: number,
): number {
  if (items <= 0) return 0;
  return (1 - Math.exp((-size.hashes * items) / size.bits)) ** size.hashes;
}

/**
 * Estimated distinct items from the number of bits set (Swamidass & Baldi):
 * `n ≈ -m / k * ln(1 - X / m)`. Works for a filter whose add count is unknown, such as a
 * shared filter written by many instances.
 */
export function estimateItems(size: Pick<BloomSize, 'bits' | 'hashes'>, bitsSet: number): number {
  if (bitsSet >= size.bits) return Number.POSITIVE_INFINITY;
  return Math.round((-size.bits / size.hashes) * Math.log(1 - bitsSet / size.bits));
}
