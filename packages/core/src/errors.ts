/**
 * A constructor option or a per-call option is invalid. The message names the field, e.g.
 * `Invalid option "ttl": Too small: expected number to be >0`.
 */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A key is not a non-empty string. */
export class InvalidKeyError extends Error {
  static readonly code = 'E_INVALID_KEY';
  readonly code = InvalidKeyError.code;
  override readonly name = 'InvalidKeyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A loader ran longer than `hardTimeout`. Its `AbortSignal` was aborted with this error and
 * whatever it resolves to later is dropped (not cached).
 */
export class LoaderTimeoutError extends Error {
  static readonly code = 'E_LOADER_TIMEOUT';
  readonly code = LoaderTimeoutError.code;
  override readonly name = 'LoaderTimeoutError';
  /** The key (or, for `getMany`, the first missing key) whose load timed out. */
  readonly key: string;
  /** The hard timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(key: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`Loader for "${key}" did not settle within ${timeoutMs} ms`, options);
    this.key = key;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A tier returned something that is not a tiercache entry (written by another program, an
 * older format, or a truncated value). It is reported as a `tier:error`, treated as a miss
 * and overwritten by the next load; it never reaches the caller of `get`.
 */
export class InvalidEntryError extends Error {
  static readonly code = 'E_INVALID_ENTRY';
  readonly code = InvalidEntryError.code;
  override readonly name = 'InvalidEntryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The manager was closed: `get`, `set`, `delete` and friends reject with this error. */
export class CacheClosedError extends Error {
  static readonly code = 'E_CACHE_CLOSED';
  readonly code = CacheClosedError.code;
  override readonly name = 'CacheClosedError';
  constructor(message = 'CacheManager is closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}
