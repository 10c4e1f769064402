import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script and its SHA1, run with EVALSHA (falling back to EVAL once per server). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * KEYS[1] lock key, KEYS[2] fencing counter (same hash tag, so the same Cluster slot);
 * ARGV[1] token, ARGV[2] ttl ms, ARGV[3] '1' to fence.
 * Returns 0 when another holder has the lock, else the new fencing token (1 when not fencing).
 * SET and INCR in one script: no holder can ever observe a lock without its token.
 */
export const ACQUIRE = script(`if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
if ARGV[3] == '1' then
  return redis.call('INCR', KEYS[2])
end
return 1`);

/** KEYS[1] lock key; ARGV[1] token. 1 when our token was there and is now deleted, else 0. */
export const RELEASE = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** KEYS[1] lock key; ARGV[1] token, ARGV[2] ttl ms. 1 when our token was there and got the new TTL. */
export const EXTEND = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

/**
 * KEYS[1] fencing counter; ARGV[1] a token handed out. Raises the counter to ARGV[1] if it is
 * lower, so that a later Redlock quorum, which shares at least one instance with this one,
 * counts past every token handed out so far.
 */
export const RAISE_FENCE = script(`local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0`);

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * EVALSHA, then EVAL when the server does not have the script cached yet (first call, or
 * after a restart or SCRIPT FLUSH). EVAL caches it, so the next EVALSHA succeeds. Nothing is
 * added to the caller's client (unlike `defineCommand`).
 */
export async function runScript(
  client: Redis | Cluster,
  lua: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(lua.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.eval(lua.source, keys.length, ...keys, ...args);
  }
}
