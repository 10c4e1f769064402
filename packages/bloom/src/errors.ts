/**
 * An option is missing or invalid. The message names the offending field, e.g.
 * `Invalid inProcessBloom options: falsePositiveRate: Too big: expected number to be <1`.
 */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A shared filter could not be read or written: Redis is down, timed out, or answered with
 * an error. `cause` holds the ioredis error. A {@link BloomGuard} never lets this turn into
 * "definitely absent": it fails open and reports "might exist".
 */
export class BloomUnavailableError extends Error {
  static readonly code = 'E_BLOOM_UNAVAILABLE';
  readonly code = BloomUnavailableError.code;
  override readonly name = 'BloomUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The Redis key holds a bitmap of another size than this instance's options give
 * (`expectedItems` / `falsePositiveRate` differ between instances, or the key belongs to
 * something else). Bit positions would not match, so nothing was read or written: answering
 * would risk false negatives. Use the same sizing everywhere, or rebuild the filter.
 */
export class BloomConfigMismatchError extends Error {
  static readonly code = 'E_BLOOM_CONFIG_MISMATCH';
  readonly code = BloomConfigMismatchError.code;
  override readonly name = 'BloomConfigMismatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A shared filter rebuild could not start because another one holds the rebuild lease, or
 * could not finish because its lease expired (the source was read more slowly than
 * `leaseTtl`). The live filter was left as it was.
 */
export class RebuildConflictError extends Error {
  static readonly code = 'E_REBUILD_CONFLICT';
  readonly code = RebuildConflictError.code;
  override readonly name = 'RebuildConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
