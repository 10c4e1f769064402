import { describe, expect, it } from 'vitest';
import { createEventRegistry } from './invalidation.js';

const registry = createEventRegistry();
const agentId = '0b9e8a4c-2f1d-4c3a-8e7f-6a5b4c3d2e1f';
const taskId = '7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d';

// The table the README documents: the guide's ENDPOINT_CACHE_CONFIG plus its write paths.
describe('each write invalidates exactly what the guide says', () => {
  it.each([
    ['AGENT_UPDATED', [`agent:${agentId}`, 'query:popular-agents', `stats:agent:${agentId}`], []],
    [
      'AGENT_REPUTATION_CHANGED',
      ['leaderboard:daily', 'leaderboard:weekly', 'query:popular-agents', `agent:${agentId}`],
      [`agent:${agentId}`, 'leaderboard'],
    ],
    [
      'TASK_CREATED',
      ['all', 'pending', 'completed', 'failed'].map((s) => `tasks:agent:${agentId}:${s}`),
      [],
    ],
    [
      'TASK_STATUS_CHANGED',
      [
        ...['all', 'pending', 'completed', 'failed'].map((s) => `tasks:agent:${agentId}:${s}`),
        `task:${taskId}`,
      ],
      [],
    ],
    ['TASK_COMPLETED', [`stats:agent:${agentId}`], []],
    ['TASK_FAILED', [`stats:agent:${agentId}`], []],
    ['VOTE_SUBMITTED', ['leaderboard:daily', 'leaderboard:weekly'], []],
    ['AGENT_CREATED', [`agent:${agentId}`], []],
    ['AGENT_DELETED', [`agent:${agentId}`], []],
  ] as const)('%s', (event, keys, tags) => {
    const targets = registry.resolve(event, { agentId, taskId });
    expect([...targets.keys].sort()).toEqual([...keys].sort());
    expect([...targets.tags].sort()).toEqual([...tags].sort());
    expect(targets.patterns).toEqual([]);
  });

  it('LEADERBOARD_RECOMPUTED drops that period’s cached top only', () => {
    expect(registry.resolve('LEADERBOARD_RECOMPUTED', { period: 'weekly' }).keys).toEqual([
      'leaderboard:weekly',
    ]);
  });

  it('ids are escaped in keys: one containing ":" cannot reach another key', () => {
    expect(registry.resolve('AGENT_DELETED', { agentId: '1:stats' }).keys).toEqual([
      'agent:1%3Astats',
    ]);
  });
});
