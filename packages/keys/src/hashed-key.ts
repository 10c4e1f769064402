import { createHash } from 'node:crypto';
import { describeValue } from './describe.js';
import { InvalidKeyError } from './errors.js';
import type { KeySegment } from './segment.js';

/**
 * Number of base64url characters kept from the SHA-256 digest: 22 × 6 = 132 bits.
 * The guide kept 8 hex characters (32 bits), where a collision is a coin flip at ~77k keys;
 * at 132 bits a billion keys collide with probability ~9e-23 (n² / 2^133).
 */
export const HASH_LENGTH = 22;

// Versioned domain tag: changing the encoding later must not silently reuse old digests.
const DOMAIN = 'tiercache/hashed-key/v1\n';

/**
 * SHA-256 digest of a list of parts, as {@link HASH_LENGTH} (22) base64url characters
 * (132 bits). Parts are length-prefixed before hashing, so `['a|b', 'c']`, `['a', 'b|c']`,
 * `['abc']` and `['ab', 'c']` all hash differently — unlike the guide's `parts.join('|')`.
 *
 * Parts may contain anything (spaces, `:`, control characters, lone surrogates): strings are
 * hashed as their UTF-16 code units, which is injective for every JavaScript string. A number
 * is hashed as `String(n)`, so `1` and `'1'` give the same digest.
 *
 * @throws {InvalidKeyError} a part is neither a string nor a finite number.
 */
export function hashParts(...parts: KeySegment[]): string {
  const hash = createHash('sha256');
  hash.update(DOMAIN, 'latin1');
  for (let i = 0; i < parts.length; i++) {
    const part: unknown = parts[i];
    let s: string;
    if (typeof part === 'string') {
      s = part;
    } else if (typeof part === 'number' && Number.isFinite(part)) {
      s = String(part);
    } else {
      throw new InvalidKeyError(
        `Invalid hashed-key part at index ${i} (${describeValue(part)}): expected a string or a finite number`,
      );
    }
    // `<units>:` then the UTF-16 code units: a prefix-free encoding, so no two part lists
    // produce the same byte stream.
    hash.update(`${s.length}:`, 'latin1');
    hash.update(s, 'utf16le');
  }
  return hash.digest('base64url').slice(0, HASH_LENGTH);
}
