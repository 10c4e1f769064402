import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import { invalidationRegistry } from './event-registry.js';
import { createInvalidator } from './invalidator.js';
import type { InvalidationTarget } from './types.js';

function fakeCache() {
  return {
    deleteMany: vi.fn(async (keys: readonly string[]) => keys.length),
    invalidateTags: vi.fn(async () => {}),
    invalidatePattern: vi.fn(async () => 10),
  } satisfies InvalidationTarget;
}

type Events = { 'agent.updated': { agentId: string } };

describe('Invalidator', () => {
  it('clearTenant deletes the escaped tenant pattern', async () => {
    const cache = fakeCache();
    const invalidator = createInvalidator({ cache });

    expect(await invalidator.clearTenant('acme*')).toBe(10);

    expect(cache.invalidatePattern).toHaveBeenCalledWith('t:acme\\*:*');
  });

  it('emit applies the keys, tags and patterns of the event at once', async () => {
    const cache = fakeCache();
    const events = invalidationRegistry<Events>().on('agent.updated', ({ agentId }) => ({
      keys: [`agent:${agentId}`, `stats:agent:${agentId}`],
      tags: [`agent:${agentId}`],
      patterns: [`metrics:agent:${agentId}:*`],
    }));
    const invalidator = createInvalidator({ cache, events });

    const result = await invalidator.emit('agent.updated', { agentId: '7' });

    expect(cache.deleteMany).toHaveBeenCalledWith(['agent:7', 'stats:agent:7']);
    expect(cache.invalidateTags).toHaveBeenCalledWith(['agent:7']);
    expect(cache.invalidatePattern).toHaveBeenCalledWith('metrics:agent:7:*');
    expect(result.deleted).toBe(12);
  });

  it('invalidate accepts one key or several', async () => {
    const cache = fakeCache();
    const invalidator = createInvalidator({ cache });
    await invalidator.invalidate('a');
    await invalidator.invalidate(['b', 'c']);
    expect(cache.deleteMany.mock.calls).toEqual([[['a']], [['b', 'c']]]);
  });

  it('emit without a registry is an options error', async () => {
    await expect(
      createInvalidator<Events>({ cache: fakeCache() }).emit('agent.updated', { agentId: '1' }),
    ).rejects.toThrow(InvalidOptionsError);
  });

  it('rejects a cache without the invalidation methods, naming the field', () => {
    expect(() => createInvalidator({ cache: {} as never })).toThrow(/cache/);
  });
});
