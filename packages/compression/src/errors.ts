/**
 * Bytes handed to `decode` are not a payload this codec can read: no header, an unknown
 * format version, serializer or compression, a damaged or truncated body, or a body the
 * serializer rejects. The original failure, if any, is kept as `cause`. A cache treats this
 * as a miss (and counts it); it never returns a guessed value.
 */
export class CorruptPayloadError extends Error {
  static readonly code = 'E_CORRUPT_PAYLOAD';
  readonly code = CorruptPayloadError.code;
  override readonly name = 'CorruptPayloadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The value cannot be written by the serializer: for JSON a `BigInt`, a circular
 * structure, a top-level `undefined`, function or symbol, or (with `strict: true`) anything
 * that would not survive a round trip. The serializer's own error is kept as `cause`.
 */
export class SerializationError extends Error {
  static readonly code = 'E_SERIALIZATION';
  readonly code = SerializationError.code;
  override readonly name = 'SerializationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An option passed to `createCodec` is invalid; the message names the field. */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
