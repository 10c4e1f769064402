import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidPolicyError, UnknownPolicyError } from './errors.js';
import { GUIDE_ENDPOINT_POLICIES } from './guide-policies.js';
import { defineCachePolicies } from './policies.js';

function definePolicies() {
  return defineCachePolicies({
    GET_AGENT: {
      ttl: 300,
      key: (id: string) => `agent:${id}`,
      invalidateOn: ['AGENT_UPDATED', 'AGENT_DELETED'],
    },
    GET_AGENT_STATS: {
      enabled: false,
      ttl: 60,
      key: (id: string) => `stats:agent:${id}`,
      invalidateOn: ['AGENT_UPDATED', 'TASK_COMPLETED', 'TASK_COMPLETED'],
    },
    GET_TASKS: {
      ttl: 300,
      key: (agentId: string, status: 'open' | 'done') => `tasks:agent:${agentId}:${status}`,
    },
  });
}

function policyError(table: unknown): InvalidPolicyError {
  try {
    defineCachePolicies(table as never);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPolicyError);
    return error as InvalidPolicyError;
  }
  throw new Error('expected defineCachePolicies to throw');
}

describe('defineCachePolicies', () => {
  it('returns each policy with its name and the key function given', () => {
    const policy = definePolicies().get('GET_AGENT');
    expect(policy.name).toBe('GET_AGENT');
    expect(policy.ttl).toBe(300);
    expect(policy.key('abc')).toBe('agent:abc');
  });

  it('enables a policy by default', () => {
    expect(definePolicies().get('GET_AGENT').enabled).toBe(true);
  });

  it('keeps an explicit enabled: false', () => {
    expect(definePolicies().get('GET_AGENT_STATS').enabled).toBe(false);
  });

  it('defaults invalidateOn to an empty list', () => {
    expect(definePolicies().get('GET_TASKS').invalidateOn).toEqual([]);
  });

  it('drops duplicate events of one policy', () => {
    expect(definePolicies().get('GET_AGENT_STATS').invalidateOn).toEqual([
      'AGENT_UPDATED',
      'TASK_COMPLETED',
    ]);
  });

  it('lists the policies an event invalidates, in table order, disabled ones included', () => {
    const names = definePolicies()
      .invalidatedBy('AGENT_UPDATED')
      .map((p) => p.name);
    expect(names).toEqual(['GET_AGENT', 'GET_AGENT_STATS']);
  });

  it('returns an empty list for an event no policy lists', () => {
    expect(definePolicies().invalidatedBy('SOMETHING_ELSE')).toEqual([]);
  });

  it('returns the same array on every call (lookups do not allocate)', () => {
    const policies = definePolicies();
    expect(policies.invalidatedBy('AGENT_UPDATED')).toBe(policies.invalidatedBy('AGENT_UPDATED'));
  });

  it('lists every event once, in first-seen order', () => {
    expect(definePolicies().events()).toEqual(['AGENT_UPDATED', 'AGENT_DELETED', 'TASK_COMPLETED']);
  });

  it('lists names and policies in table order', () => {
    const policies = definePolicies();
    expect(policies.names()).toEqual(['GET_AGENT', 'GET_AGENT_STATS', 'GET_TASKS']);
    expect(policies.all().map((p) => p.name)).toEqual(policies.names());
  });

  it('tells whether a policy exists', () => {
    const policies = definePolicies();
    expect(policies.has('GET_AGENT')).toBe(true);
    expect(policies.has('toString')).toBe(false);
  });

  it('throws UnknownPolicyError for an unknown name, listing the defined ones', () => {
    const policies = definePolicies();
    const unknown = 'GET_NOPE' as 'GET_AGENT';
    expect(() => policies.get(unknown)).toThrow(UnknownPolicyError);
    expect(() => policies.get(unknown)).toThrow(
      'Unknown cache policy "GET_NOPE"; defined: GET_AGENT, GET_AGENT_STATS, GET_TASKS',
    );
    expect(() => policies.get(unknown)).toThrow(
      expect.objectContaining({ code: 'E_UNKNOWN_POLICY' }),
    );
  });

  it('freezes policies and lists', () => {
    const policies = definePolicies();
    expect(Object.isFrozen(policies)).toBe(true);
    expect(Object.isFrozen(policies.get('GET_AGENT'))).toBe(true);
    expect(Object.isFrozen(policies.get('GET_AGENT').invalidateOn)).toBe(true);
    expect(Object.isFrozen(policies.invalidatedBy('AGENT_UPDATED'))).toBe(true);
    expect(Object.isFrozen(policies.events())).toBe(true);
  });

  it('keeps key parameter types, names and events in the types', () => {
    const policies = definePolicies();
    const tasks = policies.get('GET_TASKS');
    expectTypeOf(tasks.key).parameters.toEqualTypeOf<[agentId: string, status: 'open' | 'done']>();
    expectTypeOf(tasks.name).toEqualTypeOf<'GET_TASKS'>();
    expectTypeOf(policies.names()).toEqualTypeOf<
      readonly ('GET_AGENT' | 'GET_AGENT_STATS' | 'GET_TASKS')[]
    >();
    expectTypeOf(policies.events()).toEqualTypeOf<
      readonly ('AGENT_UPDATED' | 'AGENT_DELETED' | 'TASK_COMPLETED')[]
    >();
    // @ts-expect-error: not a policy of this table
    expect(() => policies.get('GET_NOPE')).toThrow(UnknownPolicyError);
    // @ts-expect-error: GET_AGENT's key takes one string
    expect(policies.get('GET_AGENT').key(1, 2)).toBe('agent:1');
  });

  it('narrows a policy from invalidatedBy by its name', () => {
    for (const policy of definePolicies().invalidatedBy('AGENT_UPDATED')) {
      if (policy.name === 'GET_AGENT') {
        expectTypeOf(policy.key).parameters.toEqualTypeOf<[id: string]>();
      }
    }
  });

  describe('rejects with InvalidPolicyError naming the policy and field', () => {
    const key = (id: string) => `x:${id}`;

    it.each([
      ['zero', 0],
      ['negative', -1],
      ['fractional', 1.5],
      ['a string', '300'],
      ['NaN', Number.NaN],
      ['missing', undefined],
    ])('a ttl that is %s', (_, ttl) => {
      expect(policyError({ GET_AGENT: { ttl, key } }).message).toMatch(
        /^GET_AGENT\.ttl: expected a positive integer \(seconds\), got /,
      );
    });

    it('a ttl of 1.5, quoting the value', () => {
      expect(policyError({ GET_AGENT: { ttl: 1.5, key } }).message).toBe(
        'GET_AGENT.ttl: expected a positive integer (seconds), got 1.5',
      );
    });

    it('a key that is not a function', () => {
      expect(policyError({ GET_AGENT: { ttl: 1, key: 'agent:1' } }).message).toBe(
        'GET_AGENT.key: expected a function building the cache key, got "agent:1"',
      );
    });

    it('an enabled that is not a boolean', () => {
      expect(policyError({ GET_AGENT: { ttl: 1, key, enabled: 'yes' } }).message).toBe(
        'GET_AGENT.enabled: expected a boolean, got "yes"',
      );
    });

    it('an invalidateOn that is not an array', () => {
      expect(
        policyError({ GET_AGENT: { ttl: 1, key, invalidateOn: 'AGENT_UPDATED' } }).message,
      ).toBe('GET_AGENT.invalidateOn: expected an array of event names, got "AGENT_UPDATED"');
    });

    it('an empty event name, with its index', () => {
      expect(policyError({ GET_AGENT: { ttl: 1, key, invalidateOn: ['A', ''] } }).message).toBe(
        'GET_AGENT.invalidateOn[1]: expected a non-empty event name',
      );
    });

    it('an event name that is not a string', () => {
      expect(policyError({ GET_AGENT: { ttl: 1, key, invalidateOn: [42] } }).message).toBe(
        'GET_AGENT.invalidateOn[0]: expected an event name, got 42',
      );
    });

    it("the guide's keyFn, pointing to key", () => {
      expect(policyError({ GET_AGENT: { ttl: 1, key, keyFn: key } }).message).toBe(
        'GET_AGENT: unknown field "keyFn" (the key function is called "key")',
      );
    });

    it('a policy that is not an object', () => {
      expect(policyError({ GET_AGENT: null }).message).toBe(
        'GET_AGENT: expected a policy object, got null',
      );
    });

    it('a table that is not an object', () => {
      expect(policyError(42).message).toBe(
        'policies: expected an object of named policies, got 42',
      );
    });

    it('keeping the zod error as cause and a stable code', () => {
      const error = policyError({ GET_AGENT: { ttl: 0, key } });
      expect(error.code).toBe('E_INVALID_POLICY');
      expect(error.cause).toBeInstanceOf(Error);
    });
  });
});

describe('GUIDE_ENDPOINT_POLICIES', () => {
  it("holds the guide's ENDPOINT_CACHE_CONFIG", () => {
    const summary = GUIDE_ENDPOINT_POLICIES.all().map((p) => [
      p.name,
      p.enabled,
      p.ttl,
      p.invalidateOn,
    ]);
    expect(summary).toEqual([
      ['GET_AGENT', true, 300, ['AGENT_UPDATED', 'AGENT_DELETED']],
      ['GET_AGENT_STATS', true, 60, ['TASK_COMPLETED', 'TASK_FAILED']],
      ['GET_LEADERBOARD', true, 60, ['VOTE_SUBMITTED', 'AGENT_REPUTATION_CHANGED']],
      ['GET_TASKS', true, 300, ['TASK_CREATED', 'TASK_STATUS_CHANGED']],
    ]);
  });

  it("builds the guide's keys", () => {
    expect(GUIDE_ENDPOINT_POLICIES.get('GET_AGENT').key('a1')).toBe('agent:a1');
    expect(GUIDE_ENDPOINT_POLICIES.get('GET_AGENT_STATS').key('a1')).toBe('stats:agent:a1');
    expect(GUIDE_ENDPOINT_POLICIES.get('GET_LEADERBOARD').key('daily')).toBe('leaderboard:daily');
    expect(GUIDE_ENDPOINT_POLICIES.get('GET_TASKS').key('a1', 'open')).toBe('tasks:agent:a1:open');
  });

  it('maps an event to the endpoints it invalidates', () => {
    expect(GUIDE_ENDPOINT_POLICIES.invalidatedBy('TASK_COMPLETED').map((p) => p.name)).toEqual([
      'GET_AGENT_STATS',
    ]);
  });
});
