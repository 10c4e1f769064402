export type { BatchLoader, BatchLoaderContext, Loader, LoaderContext } from './cache-manager.js';
export { CacheManager, cacheManager } from './cache-manager.js';
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
  RefreshEvent,
  StaleServedEvent,
  TierErrorEvent,
  TierOperation,
} from './events.js';
export type {
  CacheLogger,
  CacheManagerOptions,
  EarlyRefreshOption,
  GetOptions,
  SetOptions,
  TtlPolicyLike,
} from './options.js';
export type { CacheTier, MaybePromise, TierReadResult } from './tier.js';
