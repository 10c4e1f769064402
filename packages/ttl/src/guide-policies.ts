import { defineCachePolicies } from './policies.js';

/**
 * The guide's `ENDPOINT_CACHE_CONFIG`, as a validated table: an example of
 * {@link defineCachePolicies} and a ready set for the demo service.
 *
 * The key functions interpolate ids as the guide does. In an application, build keys with
 * `@tiercache/keys` (`CACHE_KEYS.AGENT(id)`), which escapes ids containing `:`. Note also that
 * `GET_TASKS` caches `tasks:agent:<id>:<status>`, so deleting the guide's
 * `CACHE_KEYS.TASKS_AGENT(id)` (`tasks:agent:<id>`) does not remove these entries: invalidate
 * through `invalidatedBy('TASK_CREATED')` or a pattern instead.
 */
export const GUIDE_ENDPOINT_POLICIES = /* @__PURE__ */ defineCachePolicies({
  // GET /api/agents/:id
  GET_AGENT: {
    enabled: true,
    ttl: 300,
    key: (id: string) => `agent:${id}`,
    invalidateOn: ['AGENT_UPDATED', 'AGENT_DELETED'],
  },
  // GET /api/agents/:id/stats — changes with every finished task.
  GET_AGENT_STATS: {
    enabled: true,
    ttl: 60,
    key: (id: string) => `stats:agent:${id}`,
    invalidateOn: ['TASK_COMPLETED', 'TASK_FAILED'],
  },
  // GET /api/leaderboard
  GET_LEADERBOARD: {
    enabled: true,
    ttl: 60,
    key: (period: string) => `leaderboard:${period}`,
    invalidateOn: ['VOTE_SUBMITTED', 'AGENT_REPUTATION_CHANGED'],
  },
  // GET /api/tasks?agent_id=xxx&status=yyy
  GET_TASKS: {
    enabled: true,
    ttl: 300,
    key: (agentId: string, status: string) => `tasks:agent:${agentId}:${status}`,
    invalidateOn: ['TASK_CREATED', 'TASK_STATUS_CHANGED'],
  },
});
