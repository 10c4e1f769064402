export {
  BusPublishError,
  InvalidOptionsError,
  TagStoreError,
  UnknownEventError,
} from './errors.js';
export type {
  EventMap,
  InvalidationRule,
  InvalidationTargets,
  PoliciesLike,
  PolicyKeys,
  PolicyLike,
  ResolvedTargets,
} from './event-registry.js';
export { InvalidationRegistry, invalidationRegistry } from './event-registry.js';
export { glob } from './glob.js';
export type { EmitResult, InvalidatorOptions } from './invalidator.js';
export { createInvalidator, Invalidator } from './invalidator.js';
export type { RedisBusEvents, RedisBusOptions, RedisBusStats } from './redis-bus.js';
export { RedisBus, redisBus } from './redis-bus.js';
export type { RedisTagVersionsOptions } from './redis-tag-versions.js';
export { RedisTagVersions, redisTagVersions } from './redis-tag-versions.js';
export type {
  BusMetrics,
  InvalidationBus,
  InvalidationLogger,
  InvalidationMessage,
  InvalidationTarget,
  TagVersionStore,
} from './types.js';
