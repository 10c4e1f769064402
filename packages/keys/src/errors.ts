/**
 * A key, key segment or hashed-key part was rejected: empty segment, control character,
 * lone surrogate, wrong type, key over the length limit, or a string given to `parseKey`
 * that no builder could have produced. The message names the segment and the reason.
 */
export class InvalidKeyError extends Error {
  static readonly code = 'E_INVALID_KEY';
  readonly code = InvalidKeyError.code;
  override readonly name = 'InvalidKeyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An options object passed to a factory of this package is invalid; the message names the field. */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
