/**
 * A `DistributedLock` option (or a per-call option) is missing or invalid. The message names
 * the offending field, e.g. `Invalid DistributedLock options: retry.factor: Too small: ...`.
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
 * The resource name cannot be locked: it is empty, not a string, or it would give the lock
 * key an empty Redis Cluster hash tag (a resource starting with `}`), which would put the
 * lock key and its fencing counter in different slots. Nothing was sent to Redis.
 */
export class InvalidResourceError extends Error {
  static readonly code = 'E_INVALID_RESOURCE';
  readonly code = InvalidResourceError.code;
  override readonly name = 'InvalidResourceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Every attempt allowed by `retry` (or its `deadline`) failed: another holder kept the lock,
 * Redis could not be reached, or (Redlock) no quorum was reached in time. `attempts` is how
 * many acquisitions were tried; `cause` is the last Redis error, if the last attempt failed
 * on one. Whatever an attempt may have written was released.
 */
export class LockNotAcquiredError extends Error {
  static readonly code = 'E_LOCK_NOT_ACQUIRED';
  readonly code = LockNotAcquiredError.code;
  override readonly name = 'LockNotAcquiredError';
  /** The lock's resource name. */
  readonly resource: string;
  /** How many acquisition attempts were made (1 + retries done). */
  readonly attempts: number;
  constructor(
    message: string,
    details: { resource: string; attempts: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.resource = details.resource;
    this.attempts = details.attempts;
  }
}

/**
 * The lock is no longer held by this holder: it expired (the process was paused, or the
 * auto-extension could not reach Redis before expiry), or its key was deleted or taken over.
 * Work done under it may have overlapped with another holder: that is what fencing tokens
 * are for. `cause` is the Redis error when the loss was declared because Redis stayed
 * unreachable until expiry.
 */
export class LockLostError extends Error {
  static readonly code = 'E_LOCK_LOST';
  readonly code = LockLostError.code;
  override readonly name = 'LockLostError';
  /** The lock's resource name. */
  readonly resource: string;
  constructor(message: string, details: { resource: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.resource = details.resource;
  }
}

/**
 * `extend` could not tell whether the lock was extended: Redis did not answer in time or
 * answered with an error (on a quorum of instances, for Redlock). The lock may still be held
 * until its current `expiresAt`; retrying is safe. `cause` is the Redis error.
 */
export class LockExtendError extends Error {
  static readonly code = 'E_LOCK_EXTEND';
  readonly code = LockExtendError.code;
  override readonly name = 'LockExtendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `release` could not tell whether the lock was released: Redis did not answer in time or
 * answered with an error. The lock expires by itself at its `expiresAt` at the latest.
 * `cause` is the Redis error.
 */
export class LockReleaseError extends Error {
  static readonly code = 'E_LOCK_RELEASE';
  readonly code = LockReleaseError.code;
  override readonly name = 'LockReleaseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
