export type { OptionsFuzzTarget, Rejection } from './fuzz-runs.js';
export {
  fuzzOptions,
  fuzzRuns,
  fuzzTimeout,
  oddValue,
  optionRejection,
  withField,
} from './fuzz-runs.js';
export type { TierConformanceFixture } from './tier-conformance.js';
export { runTierConformance } from './tier-conformance.js';
