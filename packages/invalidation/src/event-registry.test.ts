import { CACHE_KEYS } from '@tiercache/keys';
import { defineCachePolicies, GUIDE_ENDPOINT_POLICIES } from '@tiercache/ttl';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, UnknownEventError } from './errors.js';
import { invalidationRegistry } from './event-registry.js';

type Events = {
  AGENT_UPDATED: { agentId: string };
  AGENT_DELETED: { agentId: string };
  TASK_COMPLETED: { taskId: string; agentId: string };
  TASK_FAILED: { taskId: string; agentId: string };
  VOTE_SUBMITTED: { agentId: string };
  AGENT_REPUTATION_CHANGED: { agentId: string };
  TASK_CREATED: { taskId: string; agentId: string };
  TASK_STATUS_CHANGED: { taskId: string; agentId: string; from: string; to: string };
};

function guideRegistry() {
  const statuses = ['open', 'done'];
  return invalidationRegistry<Events>().fromPolicies(GUIDE_ENDPOINT_POLICIES, {
    AGENT_UPDATED: { GET_AGENT: (e, { key }) => key(e.agentId) },
    AGENT_DELETED: { GET_AGENT: (e, { key }) => key(e.agentId) },
    TASK_COMPLETED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
    TASK_FAILED: { GET_AGENT_STATS: (e, { key }) => key(e.agentId) },
    VOTE_SUBMITTED: { GET_LEADERBOARD: (_, { key }) => [key('daily'), key('weekly')] },
    AGENT_REPUTATION_CHANGED: { GET_LEADERBOARD: (_, { key }) => [key('daily'), key('weekly')] },
    TASK_CREATED: { GET_TASKS: (e, { key }) => statuses.map((s) => key(e.agentId, s)) },
    TASK_STATUS_CHANGED: {
      GET_TASKS: (e, { key }) => [key(e.agentId, e.from), key(e.agentId, e.to)],
    },
  });
}

describe('InvalidationRegistry', () => {
  it('builds the keys of every policy an event invalidates, from the policy key functions', () => {
    const registry = guideRegistry();

    expect(registry.resolve('AGENT_UPDATED', { agentId: 'a1' })).toEqual({
      keys: ['agent:a1'],
      tags: [],
      patterns: [],
    });
    expect(registry.resolve('TASK_CREATED', { taskId: 't', agentId: 'a1' }).keys).toEqual([
      'tasks:agent:a1:open',
      'tasks:agent:a1:done',
    ]);
    expect(registry.resolve('VOTE_SUBMITTED', { agentId: 'a1' }).keys).toEqual([
      'leaderboard:daily',
      'leaderboard:weekly',
    ]);
  });

  it('covers every event the policies list', () => {
    expect(guideRegistry().events().sort()).toEqual([...GUIDE_ENDPOINT_POLICIES.events()].sort());
  });

  it('adds the targets of rules given with on(), deduplicated', () => {
    const registry = guideRegistry()
      .on('TASK_COMPLETED', ({ taskId, agentId }) => ({
        keys: [CACHE_KEYS.TASK(taskId), CACHE_KEYS.AGENT_STATS(agentId)],
        tags: ['leaderboard'],
      }))
      .on('TASK_COMPLETED', () => ({ tags: ['leaderboard'], patterns: ['metrics:agent:*'] }));

    expect(registry.resolve('TASK_COMPLETED', { taskId: 't1', agentId: 'a1' })).toEqual({
      keys: ['stats:agent:a1', 'task:t1'],
      tags: ['leaderboard'],
      patterns: ['metrics:agent:*'],
    });
  });

  it('refuses a policy an event invalidates without key arguments, naming both', () => {
    const policies = defineCachePolicies({
      GET_AGENT: { ttl: 60, key: (id: string) => `agent:${id}`, invalidateOn: ['AGENT_UPDATED'] },
    });
    expect(() => invalidationRegistry<Events>().fromPolicies(policies, {})).toThrow(
      InvalidOptionsError,
    );
    expect(() => invalidationRegistry<Events>().fromPolicies(policies, {})).toThrow(
      /keys\.AGENT_UPDATED\.GET_AGENT/,
    );
  });

  it('lets a key function return null (nothing to build)', () => {
    const policies = defineCachePolicies({
      GET_AGENT: { ttl: 60, key: (id: string) => `agent:${id}`, invalidateOn: ['AGENT_UPDATED'] },
    });
    const registry = invalidationRegistry<Events>().fromPolicies(policies, {
      AGENT_UPDATED: { GET_AGENT: () => null },
    });
    expect(registry.resolve('AGENT_UPDATED', { agentId: 'a' }).keys).toEqual([]);
  });

  it('throws UnknownEventError for an event without rules', () => {
    const registry = invalidationRegistry<Events>();
    expect(() => registry.resolve('AGENT_UPDATED', { agentId: 'a' })).toThrow(UnknownEventError);
  });
});
