export type { AdaptiveTtlOptions } from './adaptive-ttl.js';
export { adaptiveTtl } from './adaptive-ttl.js';
export {
  InvalidOptionsError,
  InvalidPolicyError,
  InvalidTtlError,
  UnknownPolicyError,
} from './errors.js';
export { GUIDE_ENDPOINT_POLICIES } from './guide-policies.js';
export type { JitterOptions } from './jitter.js';
export { jitter } from './jitter.js';
export type {
  AnyPolicyOf,
  CachePolicies,
  CachePolicy,
  CachePolicyDefinition,
  CachePolicyTable,
  PolicyEvent,
  PolicyKeyFn,
  PolicyName,
  PolicyOf,
} from './policies.js';
export { defineCachePolicies } from './policies.js';
export type { TtlPresetName } from './presets.js';
export { TTL_PRESETS } from './presets.js';
