/**
 * A `memoryTier()` option is invalid. The message names the offending field, e.g.
 * `options.max: Too small: expected number to be >0`. Thrown at construction, never per call
 * (except when a custom `sizeCalculation` returns something that is not a size).
 */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A per-call TTL is not a positive finite number of milliseconds. */
export class InvalidTtlError extends Error {
  static readonly code = 'E_INVALID_TTL';
  readonly code = InvalidTtlError.code;
  override readonly name = 'InvalidTtlError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A value cannot be stored: it is `undefined` (a tier never stores `undefined`, which means
 * "miss"), or `clone: 'structured'` could not clone it (functions, class instances with private
 * state, …; the `DataCloneError` is the `cause`).
 */
export class InvalidValueError extends Error {
  static readonly code = 'E_INVALID_VALUE';
  readonly code = InvalidValueError.code;
  override readonly name = 'InvalidValueError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
