import type { Redis } from 'ioredis';
import { ACQUIRE, EXTEND, RAISE_FENCE, RELEASE } from '../scripts.js';

/** Which lock script a call ran. */
export type ScriptName = 'acquire' | 'release' | 'extend' | 'raise-fence';

/** One script call: its name, keys and arguments. */
export interface ScriptCall {
  script: ScriptName;
  keys: string[];
  args: (string | number)[];
}

const names = new Map<string, ScriptName>([
  [ACQUIRE.sha, 'acquire'],
  [RELEASE.sha, 'release'],
  [EXTEND.sha, 'extend'],
  [RAISE_FENCE.sha, 'raise-fence'],
]);

/**
 * A stand-in for one Redis server in unit tests of timing logic (retries, deadlines, the
 * watchdog): `reply` decides what each script call answers (a number, or a thrown error).
 * Behaviour against real servers is covered by the `*.int.test.ts` files.
 */
export function scriptedClient(reply: (call: ScriptCall) => number | Promise<number>): {
  client: Redis;
  calls: ScriptCall[];
  count(script: ScriptName): number;
} {
  const calls: ScriptCall[] = [];
  const client = {
    async evalsha(sha: string, numKeys: number, ...rest: (string | number)[]): Promise<number> {
      const script = names.get(sha);
      if (script === undefined) throw new Error(`unknown script ${sha}`);
      const call = {
        script,
        keys: rest.slice(0, numKeys) as string[],
        args: rest.slice(numKeys),
      };
      calls.push(call);
      return reply(call);
    },
    async eval(): Promise<number> {
      throw new Error('EVAL is not expected: EVALSHA never answers NOSCRIPT here');
    },
  };
  return {
    client: client as unknown as Redis,
    calls,
    count: (script) => calls.filter((call) => call.script === script).length,
  };
}
