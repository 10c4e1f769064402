import type { Redis } from 'ioredis';

/**
 * A protected resource that honours fencing tokens (Kleppmann): it remembers the highest
 * token it has accepted and rejects any write carrying a lower one. Lives in Redis so that
 * separate processes share it. KEYS[1] highest token, KEYS[2] value; ARGV[1] token, ARGV[2] value.
 */
const FENCED_WRITE = `local highest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < highest then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/** Writes `value` to the storage named `name` unless a higher fencing token was seen. */
export async function fencedWrite(
  redis: Redis,
  name: string,
  value: string,
  fencingToken: number,
): Promise<boolean> {
  const written = await redis.eval(
    FENCED_WRITE,
    2,
    `${name}:highest`,
    `${name}:value`,
    fencingToken,
    value,
  );
  return written === 1;
}
