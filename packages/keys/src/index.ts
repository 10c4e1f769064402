export type { CacheKeys } from './cache-keys.js';
export { CACHE_KEYS, createCacheKeys } from './cache-keys.js';
export {
  escapeSegment,
  globFor,
  hashedKey,
  key,
  parseKey,
  tenantKey,
  tenantPattern,
} from './default-builder.js';
export { InvalidKeyError, InvalidOptionsError } from './errors.js';
export { escapeGlob } from './glob.js';
export { globMatcher } from './glob-match.js';
export { HASH_LENGTH, hashParts } from './hashed-key.js';
export type { KeyBuilder, KeyBuilderOptions } from './key-builder.js';
export { createKeyBuilder } from './key-builder.js';
export type { KeySegment } from './segment.js';
