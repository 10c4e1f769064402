export type { ExecuteOptions, LockContext } from './distributed-lock.js';
export { DistributedLock } from './distributed-lock.js';
export {
  InvalidOptionsError,
  InvalidResourceError,
  LockExtendError,
  LockLostError,
  LockNotAcquiredError,
  LockReleaseError,
} from './errors.js';
export type { Lock } from './lock.js';
export type {
  AcquireOptions,
  DistributedLockOptions,
  LockLogger,
  RetryOptions,
  Sleep,
} from './options.js';
export type { WithLockOptions } from './with-lock.js';
export { withLock } from './with-lock.js';
