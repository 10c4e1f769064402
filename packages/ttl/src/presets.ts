/**
 * The guide's `TTL_CONFIG`: the same names and values, in **seconds** (what Redis `EX` takes).
 * Multiply by 1000 for `@tiercache/core`, whose TTLs are milliseconds, or pass a policy.
 */
export const TTL_PRESETS = Object.freeze({
  // User/account data: stable, long TTL.
  USER_PROFILE: 3600,
  USER_PREFERENCES: 3600,
  SESSION: 1800,

  // Entity state: moderately volatile.
  AGENT_STATE: 300,
  AGENT_STATS: 300,
  TASK_DETAILS: 600,

  // Computed/aggregated data: volatile, short TTL.
  LEADERBOARD: 60,
  METRICS: 60,
  AGENT_METRICS: 60,

  // Query results.
  QUERY_DEFAULT: 600,
  QUERY_VOLATILE: 60,
  QUERY_STABLE: 3600,

  // Locks must be short.
  LOCK_DEFAULT: 30,
  LOCK_LONG: 300,

  RATE_LIMIT: 60,

  TEMP_DATA: 300,
  VERIFICATION_CODE: 900,
} as const);

/** The name of one of the {@link TTL_PRESETS}. */
export type TtlPresetName = keyof typeof TTL_PRESETS;
