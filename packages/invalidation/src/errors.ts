/**
 * Bad options for a factory or constructor of this package; the message names the field,
 * e.g. `Invalid redisBus options: channel: Too small: expected string to have >=1 characters`.
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
 * A bus message could not be published: Redis failed, did not answer within
 * `publishTimeout`, or the bus is closed. `cause` is the ioredis error when there is one.
 * `CacheManager` reports it as a `tier:error` (tier `'bus'`, operation `'publish'`).
 */
export class BusPublishError extends Error {
  static readonly code = 'E_BUS_PUBLISH';
  readonly code = BusPublishError.code;
  override readonly name = 'BusPublishError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The tag version store could not read or move tag versions (Redis failed or did not
 * answer within `timeout`). `CacheManager` reports it as a `tier:error` (tier `'tags'`):
 * reads treat tagged entries as misses, `invalidateTags` logs at error level.
 */
export class TagStoreError extends Error {
  static readonly code = 'E_TAG_STORE';
  readonly code = TagStoreError.code;
  override readonly name = 'TagStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `emit` of an event the registry has no rule for (often a typo in the event name). */
export class UnknownEventError extends Error {
  static readonly code = 'E_UNKNOWN_EVENT';
  readonly code = UnknownEventError.code;
  override readonly name = 'UnknownEventError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
