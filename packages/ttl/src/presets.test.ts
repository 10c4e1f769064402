import { describe, expect, it } from 'vitest';
import { TTL_PRESETS } from './presets.js';

describe('TTL_PRESETS', () => {
  it("has every entry of the guide's TTL_CONFIG, in seconds", () => {
    expect(TTL_PRESETS).toEqual({
      USER_PROFILE: 3600,
      USER_PREFERENCES: 3600,
      SESSION: 1800,
      AGENT_STATE: 300,
      AGENT_STATS: 300,
      TASK_DETAILS: 600,
      LEADERBOARD: 60,
      METRICS: 60,
      AGENT_METRICS: 60,
      QUERY_DEFAULT: 600,
      QUERY_VOLATILE: 60,
      QUERY_STABLE: 3600,
      LOCK_DEFAULT: 30,
      LOCK_LONG: 300,
      RATE_LIMIT: 60,
      TEMP_DATA: 300,
      VERIFICATION_CODE: 900,
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(TTL_PRESETS)).toBe(true);
    expect(() => {
      (TTL_PRESETS as { SESSION: number }).SESSION = 1;
    }).toThrow(TypeError);
  });

  it('keeps literal types', () => {
    const session: 1800 = TTL_PRESETS.SESSION;
    expect(session).toBe(1800);
  });
});
