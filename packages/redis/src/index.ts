export { CorruptPayloadError, SerializationError } from '@tiercache/compression';
export type { CircuitState } from './circuit-breaker.js';
export type { RedisReadResult } from './command-engine.js';
export {
  CircuitOpenError,
  ClearRefusedError,
  InvalidOptionsError,
  InvalidTtlError,
  InvalidValueError,
  L2CommandError,
  L2TimeoutError,
  L2UnavailableError,
} from './errors.js';
export type {
  RedisCircuitBreakerOptions,
  RedisTierLogger,
  RedisTierOptions,
} from './options.js';
export type { CircuitListener } from './redis-tier.js';
export { RedisTier, redisTier } from './redis-tier.js';
export type {
  RedisWriteBehindOptions,
  WriteBehindBackoff,
  WriteBehindCache,
  WriteBehindEvents,
  WriteBehindFlushOptions,
  WriteBehindSerializer,
  WriteBehindStats,
  WriteBehindWrite,
} from './write-behind.js';
export {
  compareStreamIds,
  RedisWriteBehind,
  redisWriteBehind,
  streamIdSequence,
} from './write-behind.js';
