import { runTierConformance } from '@tiercache/test-utils';
import { memoryTier } from './memory-tier.js';

// Passing the tier to the suite also checks, at compile time, that MemoryTier satisfies
// CacheTier of @tiercache/core, which this package does not import.
runTierConformance('memoryTier', async () => {
  let now = 0;
  return {
    tier: memoryTier({ clock: () => now }),
    advanceTime: async (ms) => {
      now += ms;
    },
  };
});
