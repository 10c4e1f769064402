export type {
  BloomGuardOptions,
  BloomGuardStats,
  BloomGuardWrapOptions,
  MembershipFilter,
} from './bloom-guard.js';
export { BloomGuard, bloomGuard } from './bloom-guard.js';
export {
  BloomConfigMismatchError,
  BloomUnavailableError,
  InvalidOptionsError,
  RebuildConflictError,
} from './errors.js';
export type { BloomHash } from './hash.js';
export { murmur3Hash } from './hash.js';
export type { BloomStats, InProcessBloomOptions } from './in-process-bloom.js';
export { InProcessBloom, inProcessBloom } from './in-process-bloom.js';
export type { Rebuildable, RebuildOptions, RebuildSource } from './rebuild.js';
export { rebuild } from './rebuild.js';
export type { RedisBloomOptions } from './redis-bloom.js';
export { RedisBloom, redisBloom } from './redis-bloom.js';
export type { BloomSize } from './sizing.js';
export { bloomSize, estimateFalsePositiveRate, estimateItems } from './sizing.js';
