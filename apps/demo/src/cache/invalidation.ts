import type { CacheManager } from '@tiercache/core';
import {
  createInvalidator,
  type EmitResult,
  type InvalidationRegistry,
  invalidationRegistry,
} from '@tiercache/invalidation';
import { CACHE_KEYS } from '@tiercache/keys';
import { type Period, TASK_STATUSES } from '../db/repository.js';
import { POLICIES } from './policies.js';

/** The domain events of the demo's writes, with what each carries. */
export interface DomainEvents {
  AGENT_CREATED: { agentId: string };
  AGENT_UPDATED: { agentId: string };
  /** In the guide's table (GET_AGENT); the demo has no delete endpoint. */
  AGENT_DELETED: { agentId: string };
  AGENT_REPUTATION_CHANGED: { agentId: string };
  TASK_CREATED: { agentId: string; taskId: string };
  TASK_COMPLETED: { agentId: string; taskId: string };
  TASK_FAILED: { agentId: string; taskId: string };
  TASK_STATUS_CHANGED: { agentId: string; taskId: string };
  VOTE_SUBMITTED: { agentId: string };
  LEADERBOARD_RECOMPUTED: { period: Period };
}
export type DomainEvent = keyof DomainEvents;

/** Tags the demo puts on entries: an agent's own entries, and every ranking. */
export const TAGS = {
  agent: (agentId: string) => `agent:${agentId}`,
  leaderboard: 'leaderboard',
} as const;

/** Every key of an agent's task lists: one per status filter. */
const taskListKeys = (agentId: string) => [
  POLICIES.get('GET_TASKS').key(agentId, 'all'),
  ...TASK_STATUSES.map((s) => POLICIES.get('GET_TASKS').key(agentId, s)),
];
const leaderboardKeys = () => [
  POLICIES.get('GET_LEADERBOARD').key('daily'),
  POLICIES.get('GET_LEADERBOARD').key('weekly'),
];

/**
 * What each write invalidates.
 *
 * 1. The guide's `ENDPOINT_CACHE_CONFIG` (`invalidateOn`) says which endpoints an event makes
 *    stale; `fromPolicies` says which of their keys, from the payload. `GET_TASKS` is cached
 *    per status, so all its status keys go (the guide deletes `tasks:agent:<id>`, which is
 *    none of them).
 * 2. The guide's write paths add: `updateAgent` drops the agent's stats too;
 *    `updateAgentReputation` invalidates by tag (`agent:<id>`: the agent and its stats,
 *    `leaderboard`: the rankings). Its `metrics` tag has no entries here, and the guide's
 *    `TASK_CREATED → leaderboard:daily` does not apply: scores count votes and reputation,
 *    not tasks.
 */
export function createEventRegistry(): InvalidationRegistry<DomainEvents> {
  return (
    invalidationRegistry<DomainEvents>()
      .fromPolicies(POLICIES, {
        AGENT_UPDATED: {
          GET_AGENT: (e, { key }) => key(e.agentId),
          GET_POPULAR_AGENTS: (_e, { key }) => key(),
        },
        AGENT_DELETED: { GET_AGENT: (e, { key }) => key(e.agentId) },
        AGENT_REPUTATION_CHANGED: {
          GET_LEADERBOARD: leaderboardKeys,
          GET_POPULAR_AGENTS: (_e, { key }) => key(),
        },
        TASK_CREATED: { GET_TASKS: (e) => taskListKeys(e.agentId) },
        TASK_STATUS_CHANGED: {
          GET_TASKS: (e) => taskListKeys(e.agentId),
          GET_TASK: (e, { key }) => key(e.taskId),
        },
        TASK_COMPLETED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
        TASK_FAILED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
        VOTE_SUBMITTED: { GET_LEADERBOARD: leaderboardKeys },
      })
      .on('AGENT_UPDATED', ({ agentId }) => ({ keys: [CACHE_KEYS.AGENT_STATS(agentId)] }))
      .on('AGENT_REPUTATION_CHANGED', ({ agentId }) => ({
        tags: [TAGS.agent(agentId), TAGS.leaderboard],
        // By key as well: the leaderboard loads agents in bulk (getMany), untagged.
        keys: [CACHE_KEYS.AGENT(agentId)],
      }))
      // A lookup of the id before it existed may have cached `null`.
      .on('AGENT_CREATED', ({ agentId }) => ({ keys: [CACHE_KEYS.AGENT(agentId)] }))
      .on('LEADERBOARD_RECOMPUTED', ({ period }) => ({
        keys: [POLICIES.get('GET_LEADERBOARD').key(period)],
      }))
  );
}

/** Applies domain events to the cache: L2, this L1, and the other instances' L1 (bus). */
export interface Invalidations {
  emit<E extends DomainEvent>(event: E, payload: DomainEvents[E]): Promise<EmitResult>;
}

/** Event- and tag-based invalidation with `@tiercache/invalidation`'s `Invalidator`. */
export function createInvalidations(cache: CacheManager): Invalidations {
  const invalidator = createInvalidator({ cache, events: createEventRegistry() });
  return { emit: (event, payload) => invalidator.emit(event, payload) };
}
