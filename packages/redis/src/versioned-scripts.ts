import { createHash } from 'node:crypto';
import type { Commands } from './command-engine.js';

/** A Lua script and its SHA1, run with EVALSHA (EVAL once per server when not cached). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// Every script touches a key and its version key, which share a Cluster slot (hash tag).

/**
 * A load's write: KEYS[1] key, KEYS[2] version key; ARGV[1] the version read before the load
 * ('' for none), ARGV[2] payload, ARGV[3] ttl ms. Writes only if the version is unchanged:
 * 1 written, 0 dropped (a delete or set happened since the load started).
 */
export const FILL = script(`if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

// UNLINK first: at maxmemory under `noeviction` Redis refuses a script's first command that may
// grow memory (SET), but once a script has written it lets it finish (it cannot stop half way),
// and UNLINK is always allowed. These scripts used to start with the version SET, so at
// maxmemory a delete failed and left the old value in L2 while the bus dropped every L1 copy:
// every instance read the old value back until its TTL.

/**
 * An explicit set: KEYS[1] key, KEYS[2] version key; ARGV[1] new version, ARGV[2] version ttl
 * ms, ARGV[3] payload, ARGV[4] ttl ms.
 */
export const SET_VERSIONED = script(`redis.call('UNLINK', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1`);

/**
 * A delete: KEYS[1] key, KEYS[2] version key; ARGV[1] new version, ARGV[2] version ttl ms.
 * Returns how many keys UNLINK removed (0 or 1). Works when Redis is out of memory too.
 */
export const DELETE_VERSIONED = script(`local removed = redis.call('UNLINK', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return removed`);

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * EVALSHA, then EVAL when the server does not have the script yet (first call, restart,
 * SCRIPT FLUSH); EVAL caches it. Nothing is added to the caller's client.
 */
export function runScript(
  raw: Commands,
  lua: LuaScript,
  keys: readonly [string, string],
  args: ReadonlyArray<string | Buffer | number>,
): Promise<unknown> {
  return raw
    .evalsha(lua.sha, 2, ...keys, ...args)
    .catch((error: unknown) =>
      isNoScript(error) ? raw.eval(lua.source, 2, ...keys, ...args) : Promise.reject(error),
    );
}
