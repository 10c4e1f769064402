/** Builders shared by this package's tests (not exported from the package). */

/** A JSON value whose text is about `bytes` long and compresses very well. */
export function repetitiveValue(bytes = 4096): { rows: { id: number; status: string }[] } {
  const rows: { id: number; status: string }[] = [];
  let length = '{"rows":[]}'.length;
  while (length < bytes) {
    const row = { id: rows.length, status: 'active' };
    length += JSON.stringify(row).length + (rows.length > 0 ? 1 : 0);
    rows.push(row);
  }
  return { rows };
}

/**
 * A string of `length` printable ASCII characters from a seeded generator (deterministic
 * across runs). At ~6.5 bits of entropy per byte no compressor saves 20 % on it.
 */
export function incompressibleString(length = 4096, seed = 42): string {
  const alphabet =
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~';
  let state = seed >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out += alphabet[(state >>> 0) % alphabet.length];
  }
  return out;
}
