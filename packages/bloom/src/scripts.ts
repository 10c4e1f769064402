import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script and its SHA1, run with EVALSHA (falling back to EVAL once per server). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly keys: number;
}

function script(keys: number, source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex'), keys };
}

/**
 * Error reply when the key's length is not the filter's: `BLOOMSIZE <actual bytes>`. A
 * missing key (length 0) is not an error: the filter does not exist (yet, or any more).
 */
export const SIZE_MISMATCH = 'BLOOMSIZE';

/**
 * KEYS[1] filter, KEYS[2] rebuild mirror; ARGV[1] filter bytes, ARGV[2..] bit positions.
 * Sets the bits in the filter if it exists, and in the mirror while a rebuild runs (so the
 * rebuilt filter keeps this key). Never creates the filter: a filter lost to a restart or
 * eviction must not come back holding only the keys added since, or every older key would
 * read as "definitely absent". Returns 1, or 0 when the filter is missing.
 */
export const ADD = script(
  2,
  `local len = redis.call('STRLEN', KEYS[1])
local found = 0
if len == tonumber(ARGV[1]) then
  found = 1
  for i = 2, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end
elseif len ~= 0 then
  return redis.error_reply('${SIZE_MISMATCH} ' .. len)
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  for i = 2, #ARGV do redis.call('SETBIT', KEYS[2], ARGV[i], 1) end
end
return found`,
);

/**
 * KEYS[1] filter; ARGV[1] filter bytes, ARGV[2..] bit positions. Returns 1 when every bit
 * is set (might exist), 0 at the first clear bit (definitely absent), -1 when the filter is
 * missing (which the caller reads as "might exist").
 */
export const HAS = script(
  1,
  `local len = redis.call('STRLEN', KEYS[1])
if len == 0 then return -1 end
if len ~= tonumber(ARGV[1]) then return redis.error_reply('${SIZE_MISMATCH} ' .. len) end
for i = 2, #ARGV do
  if redis.call('GETBIT', KEYS[1], ARGV[i]) == 0 then return 0 end
end
return 1`,
);

/** KEYS[1] filter; ARGV[1] filter bytes. Replaces the filter with an empty one, atomically. */
export const CLEAR = script(
  1,
  `redis.call('DEL', KEYS[1])
redis.call('SETRANGE', KEYS[1], tonumber(ARGV[1]) - 1, '\\0')
return 1`,
);

/**
 * KEYS[1] lease, KEYS[2] mirror, KEYS[3] staging; ARGV[1] token, ARGV[2] lease ms,
 * ARGV[3] filter bytes. Takes the rebuild lease and creates the empty mirror that every
 * ADD writes to from now on. Returns 0 when another rebuild holds the lease.
 */
export const REBUILD_START = script(
  3,
  `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SETRANGE', KEYS[2], tonumber(ARGV[3]) - 1, '\\0')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`,
);

/** Same keys; ARGV[1] token, ARGV[2] lease ms. Renews our lease; 0 when it is not ours. */
export const REBUILD_EXTEND = script(
  3,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1`,
);

/**
 * KEYS[1] lease, KEYS[2] mirror, KEYS[3] staging, KEYS[4] filter; ARGV[1] token,
 * ARGV[2] filter bytes. Merges the keys added during the rebuild (mirror) into the uploaded
 * bits (staging) and swaps them in with RENAME: readers see the old filter, then the new
 * one, never a partial one. Returns 1, 0 when the lease was lost, -1 when staging is short.
 */
export const REBUILD_FINISH = script(
  4,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
  return 0
end
if redis.call('STRLEN', KEYS[3]) ~= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return -1
end
redis.call('BITOP', 'OR', KEYS[3], KEYS[3], KEYS[2])
redis.call('RENAME', KEYS[3], KEYS[4])
redis.call('PERSIST', KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2])
return 1`,
);

/**
 * KEYS[1] lease, KEYS[2] mirror, KEYS[3] staging; ARGV[1] token. Gives up our rebuild. A
 * mirror without any lease is an orphan (START creates both at once) and goes too.
 */
export const REBUILD_ABORT = script(
  3,
  `redis.call('DEL', KEYS[3])
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] or not owner then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1`,
);

/** True for the reply a server gives when it has not cached the script. */
export const isNoScript = (error: unknown): boolean =>
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
    return await client.evalsha(lua.sha, lua.keys, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.eval(lua.source, lua.keys, ...keys, ...args);
  }
}

/**
 * Runs `lua` once per argument list in one pipeline and resolves to the replies in order.
 * Replies of NOSCRIPT are retried with EVAL (every script here is idempotent); any other
 * error reply rejects.
 */
export async function runScriptPipelined(
  client: Redis | Cluster,
  lua: LuaScript,
  keys: readonly string[],
  argLists: readonly (readonly (string | number)[])[],
): Promise<unknown[]> {
  const pipeline = client.pipeline();
  for (const args of argLists) pipeline.evalsha(lua.sha, lua.keys, ...keys, ...args);
  const results = (await pipeline.exec()) ?? [];
  const replies: unknown[] = new Array(argLists.length);
  const retry: number[] = [];
  for (let i = 0; i < argLists.length; i++) {
    const [error, reply] = results[i] ?? [new Error('Pipeline returned no reply'), undefined];
    if (error === null) replies[i] = reply;
    else if (isNoScript(error)) retry.push(i);
    else throw error;
  }
  if (retry.length > 0) {
    const again = client.pipeline();
    for (const i of retry) again.eval(lua.source, lua.keys, ...keys, ...argLists[i]!);
    const retried = (await again.exec()) ?? [];
    for (let j = 0; j < retry.length; j++) {
      const [error, reply] = retried[j] ?? [new Error('Pipeline returned no reply'), undefined];
      if (error !== null) throw error;
      replies[retry[j]!] = reply;
    }
  }
  return replies;
}
