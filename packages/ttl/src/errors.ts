/**
 * A TTL or a timestamp used to compute one is invalid: `jitter` got a TTL that is not a
 * positive integer, or `adaptiveTtl` got a `lastModified` that is not a finite epoch-ms
 * number or a valid `Date`.
 */
export class InvalidTtlError extends Error {
  static readonly code = 'E_INVALID_TTL';
  readonly code = InvalidTtlError.code;
  override readonly name = 'InvalidTtlError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An options object passed to a function of this package is invalid; the message names the field. */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A policy table given to `defineCachePolicies` is invalid. The message names the policy and
 * the field (`GET_AGENT.ttl: expected a positive integer (seconds), got 1.5`); `cause` is the
 * underlying zod error.
 */
export class InvalidPolicyError extends Error {
  static readonly code = 'E_INVALID_POLICY';
  readonly code = InvalidPolicyError.code;
  override readonly name = 'InvalidPolicyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `policies.get(name)` was asked for a policy the table does not define. */
export class UnknownPolicyError extends Error {
  static readonly code = 'E_UNKNOWN_POLICY';
  readonly code = UnknownPolicyError.code;
  override readonly name = 'UnknownPolicyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
