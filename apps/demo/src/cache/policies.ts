import { CACHE_KEYS, key } from '@tiercache/keys';
import { defineCachePolicies, TTL_PRESETS } from '@tiercache/ttl';
import type { Period, TaskStatus } from '../db/repository.js';

/**
 * The guide's `ENDPOINT_CACHE_CONFIG` (its four endpoints, TTLs and `invalidateOn` events,
 * unchanged), with keys built by `@tiercache/keys` so ids are escaped, plus the demo's other
 * cached reads. TTLs are seconds.
 */
export const POLICIES = defineCachePolicies({
  // GET /api/agents/:id
  GET_AGENT: {
    enabled: true,
    ttl: 300,
    key: (id: string) => CACHE_KEYS.AGENT(id),
    invalidateOn: ['AGENT_UPDATED', 'AGENT_DELETED'],
  },
  // GET /api/agents/:id/stats (changes frequently)
  GET_AGENT_STATS: {
    enabled: true,
    ttl: 60,
    key: (id: string) => CACHE_KEYS.AGENT_STATS(id),
    invalidateOn: ['TASK_COMPLETED', 'TASK_FAILED'],
  },
  // GET /api/leaderboard?period=
  GET_LEADERBOARD: {
    enabled: true,
    ttl: 60,
    key: (period: Period) => CACHE_KEYS.LEADERBOARD(period),
    invalidateOn: ['VOTE_SUBMITTED', 'AGENT_REPUTATION_CHANGED'],
  },
  // GET /api/tasks?agent_id=&status= (status 'all' when absent)
  GET_TASKS: {
    enabled: true,
    ttl: 300,
    key: (agentId: string, status: TaskStatus | 'all') => key('tasks', 'agent', agentId, status),
    invalidateOn: ['TASK_CREATED', 'TASK_STATUS_CHANGED'],
  },

  // Not in the guide's table; from its TTL_CONFIG and warming section.
  // GET /api/tasks/:id
  GET_TASK: {
    ttl: TTL_PRESETS.TASK_DETAILS,
    key: (taskId: string) => CACHE_KEYS.TASK(taskId),
    invalidateOn: ['TASK_STATUS_CHANGED'],
  },
  // GET /api/sessions/:id; a session is never served past its expires_at (checked on read).
  GET_SESSION: {
    ttl: TTL_PRESETS.SESSION,
    key: (sessionId: string) => CACHE_KEYS.SESSION(sessionId),
  },
  // GET /api/agents/popular: the guide's hot query, ranked by reputation.
  GET_POPULAR_AGENTS: {
    ttl: TTL_PRESETS.QUERY_STABLE,
    key: () => CACHE_KEYS.QUERY('popular-agents'),
    invalidateOn: ['AGENT_UPDATED', 'AGENT_REPUTATION_CHANGED'],
  },
  // GET /api/tasks/recent: the guide's volatile hot query, invalidated by its TTL alone
  // (strategy 1): a new task shows up within a minute.
  GET_RECENT_TASKS: {
    ttl: TTL_PRESETS.QUERY_VOLATILE,
    key: () => CACHE_KEYS.QUERY('recent-tasks'),
  },
});

/** Milliseconds, as `@tiercache/core` takes TTLs. */
export const ttlMs = (seconds: number): number => seconds * 1000;
