/**
 * An option is invalid. The message names the offending field, e.g.
 * `options.threshold: Too big: expected number to be <=1`. Thrown at construction, never per call.
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
 * A Redis memory check failed: the `INFO` command rejected (its error is the `cause`), or its
 * reply has no `used_memory` field. From a monitor's own timer it is emitted as `'error'`,
 * never thrown.
 */
export class MemoryCheckError extends Error {
  static readonly code = 'E_MEMORY_CHECK';
  readonly code = MemoryCheckError.code;
  override readonly name = 'MemoryCheckError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
