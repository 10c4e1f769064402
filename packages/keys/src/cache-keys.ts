import type { KeyBuilderOptions } from './key-builder.js';
import { createKeyBuilder } from './key-builder.js';
import type { KeySegment } from './segment.js';

/**
 * The guide's key families ("Hierarchical Key Naming Convention"), same names and formats.
 * Every segment is validated and escaped, so an id containing `:` cannot reach into another
 * key (`AGENT('1:stats')` is `agent:1%3Astats`, not `agent:1:stats`).
 */
export interface CacheKeys {
  /** `user:<userId>` */
  USER(userId: KeySegment): string;
  /** `agent:<agentId>` */
  AGENT(agentId: KeySegment): string;
  /** `task:<taskId>` */
  TASK(taskId: KeySegment): string;
  /** `session:<sessionId>` */
  SESSION(sessionId: KeySegment): string;
  /** `tasks:agent:<agentId>` — an agent's task list. */
  TASKS_AGENT(agentId: KeySegment): string;
  /** `votes:agent:<agentId>` — an agent's votes. */
  VOTES_AGENT(agentId: KeySegment): string;
  /** `agents:active` */
  AGENTS_ACTIVE(): string;
  /** `stats:agent:<agentId>` */
  AGENT_STATS(agentId: KeySegment): string;
  /**
   * `metrics:agent:<agentId>:<period>`. To drop every period of one agent (the guide calls
   * `AGENT_METRICS(agentId)` without a period, which deletes nothing), SCAN for
   * `globFor(['metrics', 'agent', agentId])`.
   */
  AGENT_METRICS(agentId: KeySegment, period: KeySegment): string;
  /** `leaderboard:<period>` */
  LEADERBOARD(period: KeySegment): string;
  /** `lb:percentile:<period>` */
  LEADERBOARD_PERCENTILE(period: KeySegment): string;
  /** `query:<hash>` — pair with `hashParts(sql, JSON.stringify(params))`. */
  QUERY(hash: KeySegment): string;
  /** `lock:<resource>[:<more>...]` */
  LOCK(resource: KeySegment, ...more: KeySegment[]): string;
  /** `rl:<userId>:<action>` */
  RATE_LIMIT(userId: KeySegment, action: KeySegment): string;
  /** `updates:<resource>[:<more>...]` — a pub/sub channel name. */
  CHANNEL_UPDATES(resource: KeySegment, ...more: KeySegment[]): string;
  /** `temp:<sessionId>:<dataId>` */
  TEMP_DATA(sessionId: KeySegment, dataId: KeySegment): string;
  /** `tag:<tag>[:<more>...]` — the set of keys carrying a tag. */
  TAG(tag: KeySegment, ...more: KeySegment[]): string;
  /**
   * `tags:<entity>[:<more>...]` — the tags of one entry. Pass a whole cache key as one
   * segment (`ENTITY_TAGS('agent:1')` → `tags:agent%3A1`) or its segments
   * (`ENTITY_TAGS('agent', 1)` → `tags:agent:1`); both are unambiguous.
   */
  ENTITY_TAGS(entityId: KeySegment, ...more: KeySegment[]): string;
}

/**
 * Builds the guide's key families on a builder with these options, e.g. with a per-service
 * prefix: `createCacheKeys({ prefix: 'billing' }).AGENT(1)` → `billing:agent:1`.
 * @throws {InvalidOptionsError} the options are invalid (see `createKeyBuilder`).
 */
export function createCacheKeys(options?: KeyBuilderOptions): CacheKeys {
  const { key } = createKeyBuilder(options);
  return Object.freeze({
    USER: (userId) => key('user', userId),
    AGENT: (agentId) => key('agent', agentId),
    TASK: (taskId) => key('task', taskId),
    SESSION: (sessionId) => key('session', sessionId),
    TASKS_AGENT: (agentId) => key('tasks', 'agent', agentId),
    VOTES_AGENT: (agentId) => key('votes', 'agent', agentId),
    AGENTS_ACTIVE: () => key('agents', 'active'),
    AGENT_STATS: (agentId) => key('stats', 'agent', agentId),
    AGENT_METRICS: (agentId, period) => key('metrics', 'agent', agentId, period),
    LEADERBOARD: (period) => key('leaderboard', period),
    LEADERBOARD_PERCENTILE: (period) => key('lb', 'percentile', period),
    QUERY: (hash) => key('query', hash),
    LOCK: (resource, ...more) => key('lock', resource, ...more),
    RATE_LIMIT: (userId, action) => key('rl', userId, action),
    CHANNEL_UPDATES: (resource, ...more) => key('updates', resource, ...more),
    TEMP_DATA: (sessionId, dataId) => key('temp', sessionId, dataId),
    TAG: (tag, ...more) => key('tag', tag, ...more),
    ENTITY_TAGS: (entityId, ...more) => key('tags', entityId, ...more),
  } satisfies CacheKeys);
}

/**
 * The guide's `CACHE_KEYS` with the default builder (`:` separator, no prefix):
 * `CACHE_KEYS.AGENT_STATS(id)` → `stats:agent:<id>`.
 */
export const CACHE_KEYS: CacheKeys = /* @__PURE__ */ createCacheKeys();
