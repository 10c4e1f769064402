/**
 * A `redisTier` option is missing or invalid. The message names the offending field, e.g.
 * `Invalid redisTier options: commandTimeout: Too small: expected number to be >0`.
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
 * `set` was given a TTL that is not a positive integer number of milliseconds (`0`, `-1`,
 * `1.5`, `NaN`, `Infinity`). Nothing was sent to Redis.
 */
export class InvalidTtlError extends Error {
  static readonly code = 'E_INVALID_TTL';
  readonly code = InvalidTtlError.code;
  override readonly name = 'InvalidTtlError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `set(key, undefined)`: a tier never stores `undefined`. Nothing was sent to Redis. */
export class InvalidValueError extends Error {
  static readonly code = 'E_INVALID_VALUE';
  readonly code = InvalidValueError.code;
  override readonly name = 'InvalidValueError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Redis could not be reached: the connection is down or reconnecting, or the client was
 * closed. `cause` holds the ioredis error when there is one. Counts as a circuit failure.
 */
export class L2UnavailableError extends Error {
  static readonly code = 'E_L2_UNAVAILABLE';
  readonly code = L2UnavailableError.code;
  override readonly name = 'L2UnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Redis did not answer within `commandTimeout`. The command may still run on the server
 * (a `set` may land later). Counts as a circuit failure.
 */
export class L2TimeoutError extends Error {
  static readonly code = 'E_L2_TIMEOUT';
  readonly code = L2TimeoutError.code;
  override readonly name = 'L2TimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Redis answered with an error reply that does not mean "unavailable" (for example `OOM`
 * under `maxmemory-policy noeviction`, or `WRONGTYPE` for a foreign key under our prefix).
 * `cause` is the ioredis `ReplyError`. Does not count as a circuit failure.
 */
export class L2CommandError extends Error {
  static readonly code = 'E_L2_COMMAND';
  readonly code = L2CommandError.code;
  override readonly name = 'L2CommandError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The circuit breaker is open (or a half-open probe is already in flight): the call was
 * rejected at once, without touching Redis.
 */
export class CircuitOpenError extends Error {
  static readonly code = 'E_CIRCUIT_OPEN';
  readonly code = CircuitOpenError.code;
  override readonly name = 'CircuitOpenError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `clear()` was called on a tier whose `prefix` is empty. Clearing would delete every key
 * in the database, including data that is not ours, so the tier refuses.
 */
export class ClearRefusedError extends Error {
  static readonly code = 'E_CLEAR_REFUSED';
  readonly code = ClearRefusedError.code;
  override readonly name = 'ClearRefusedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
