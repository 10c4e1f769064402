/**
 * A prefix for helper keys that land in the same Redis Cluster slot as `key`, or
 * `undefined` when there is none. A key with a hash tag (`bloom:{users}`) keeps it; a key
 * without one is wrapped whole in braces (`{bloom:users}`), which hashes exactly like the
 * bare key. A key containing `}` but no non-empty tag cannot be wrapped that way.
 */
export function sameSlotPrefix(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key;
  }
  return key.includes('}') ? undefined : `{${key}}`;
}
