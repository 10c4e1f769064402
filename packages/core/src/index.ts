export type { BatchLoader, BatchLoaderContext, Loader, LoaderContext } from './cache-manager.js';
export { CacheManager, cacheManager } from './cache-manager.js';
export type { CacheWriter } from './checked-set.js';
export {
  CacheClosedError,
  InvalidEntryError,
  InvalidKeyError,
  InvalidOptionsError,
  LoaderTimeoutError,
} from './errors.js';
export type {
  CacheEventListener,
  CacheEvents,
  HitEvent,
  LoadErrorEvent,
  LoadEvent,
  MissEvent,
  RedoDoneEvent,
  RedoOverflowEvent,
  RefreshEvent,
  StaleServedEvent,
  StampedeFallbackEvent,
  StampedeWaitEvent,
  TierErrorEvent,
  TierOperation,
} from './events.js';
export type {
  InvalidationBus,
  InvalidationMessage,
  PatternMatcher,
  TagVersionStore,
  VersionedTier,
} from './invalidation.js';
export type { Locker, LockerAcquireOptions, LockerLease } from './locker.js';
export type {
  CacheLogger,
  CacheManagerOptions,
  EarlyRefreshOption,
  GetOptions,
  RedoFailedDeletesOption,
  RedoFailedDeletesOptions,
  SetOptions,
  StampedeOption,
  StampedeOptions,
  TtlPolicyLike,
} from './options.js';
export type {
  RefreshContext,
  RefreshFailedEvent,
  RefreshJob,
  RefreshOutcome,
  RefreshSchedulerEvents,
  RefreshSchedulerOptions,
  RefreshStats,
  RefreshStopOptions,
  RefreshSucceededEvent,
  TimerProvider,
} from './refresh-scheduler.js';
export { defaultTimerProvider, RefreshScheduler } from './refresh-scheduler.js';
export type { CacheTier, MaybePromise, TierReadResult } from './tier.js';
export type { RedoStats } from './undeleted.js';
export type {
  WarmEntriesSpec,
  WarmFailure,
  WarmKeysSpec,
  WarmLoadContext,
  WarmOptions,
  WarmReport,
  WarmSource,
  WarmSourceInput,
  WarmSpec,
  WarmSpecReport,
} from './warming.js';
export { warm } from './warming.js';
export type {
  WriteContext,
  WriteThroughCacheError,
  WriteThroughOptions,
} from './write-through.js';
export { writeThrough } from './write-through.js';
