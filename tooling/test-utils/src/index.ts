export type { TierConformanceFixture } from './tier-conformance.js';
export { runTierConformance } from './tier-conformance.js';
