export { InvalidOptionsError, InvalidTtlError, InvalidValueError } from './errors.js';
export { estimateSize } from './estimate-size.js';
export type {
  MemoryTierEventName,
  MemoryTierEvents,
  MemoryTierListener,
  MemoryTierReadResult,
} from './memory-tier.js';
export { MemoryTier, memoryTier } from './memory-tier.js';
export type { CloneMode, MemoryTierOptions } from './options.js';
