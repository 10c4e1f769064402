// Test helpers for @tiercache/core's own unit tests. Not part of the public API and not
// bundled: src/index.ts does not import this folder.
export { AsyncTier } from './async-tier.js';
export { FailingTier, FakeTierError } from './failing-tier.js';
export { FakeLockBusyError, FakeLocker, FakeLockerError } from './fake-locker.js';
export {
  MemoryBus,
  MemoryBusHub,
  MemoryTagStore,
  starMatcher,
  VersionedMapTier,
} from './invalidation-fakes.js';
export type { RecordingLogger } from './logger.js';
export { recordingLogger } from './logger.js';
export type { TierCalls } from './map-tier.js';
export { MapTier } from './map-tier.js';
export type { Deferred, Setup } from './setup.js';
export { deferred, setup } from './setup.js';
