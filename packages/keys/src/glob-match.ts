// Redis' glob matcher (src/util.c, stringmatchlen_impl, case-sensitive), the one SCAN MATCH,
// KEYS and PSUBSCRIBE use, for matching keys in process exactly as Redis would: an L1 entry
// must be dropped when, and only when, Redis would delete the same key for that pattern.
// Redis compares bytes, so keys and patterns are compared as UTF-8.

const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

// Redis compares range bounds as (signed, on x86 and arm64 Linux builds) `char`s.
const signed = (byte: number): number => (byte << 24) >> 24;

/** `skipLonger` is Redis' guard against exponential backtracking on patterns like `*a*a*a*b`. */
interface State {
  skipLonger: boolean;
}

function matchBytes(
  p: Uint8Array,
  pStart: number,
  pLen: number,
  s: Uint8Array,
  sStart: number,
  sLen: number,
  state: State,
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  // Patterns are NUL-terminated in C: reading one past the end yields 0.
  const at = (i: number): number => (i < p.length ? (p[i] as number) : 0);
  let pi = pStart;
  let plen = pLen;
  let si = sStart;
  let slen = sLen;
  while (plen > 0 && slen > 0) {
    const c = at(pi);
    if (c === STAR) {
      while (plen > 0 && at(pi + 1) === STAR) {
        pi++;
        plen--;
      }
      if (plen === 1) return true;
      while (slen > 0) {
        if (matchBytes(p, pi + 1, plen - 1, s, si, slen, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
        si++;
        slen--;
      }
      state.skipLonger = true;
      return false;
    }
    if (c === QUESTION) {
      si++;
      slen--;
    } else if (c === LBRACKET) {
      pi++;
      plen--;
      const not = at(pi) === CARET;
      if (not) {
        pi++;
        plen--;
      }
      let match = false;
      for (;;) {
        if (at(pi) === BACKSLASH && plen >= 2) {
          pi++;
          plen--;
          if (at(pi) === s[si]) match = true;
        } else if (at(pi) === RBRACKET) {
          break;
        } else if (plen === 0) {
          pi--;
          plen++;
          break;
        } else if (plen >= 3 && at(pi + 1) === DASH) {
          let start = signed(at(pi));
          let end = signed(at(pi + 2));
          const ch = signed(s[si] as number);
          if (start > end) [start, end] = [end, start];
          pi += 2;
          plen -= 2;
          if (ch >= start && ch <= end) match = true;
        } else if (at(pi) === s[si]) {
          match = true;
        }
        pi++;
        plen--;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
      slen--;
    } else {
      if (c === BACKSLASH && plen >= 2) {
        pi++;
        plen--;
      }
      if (at(pi) !== s[si]) return false;
      si++;
      slen--;
    }
    pi++;
    plen--;
    if (slen === 0) {
      while (at(pi) === STAR) {
        pi++;
        plen--;
      }
      break;
    }
  }
  return plen === 0 && slen === 0;
}

/**
 * A pattern that is a literal (escapes resolved) optionally followed by `*`s: the usual
 * shape (`t:acme:*`, `tasks:agent:42:*`), matched with `startsWith` instead of bytes.
 */
function simpleShape(pattern: string): { literal: string; star: boolean } | undefined {
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      // A trailing backslash is a literal backslash in Redis.
      if (i + 1 < pattern.length) i++;
      literal += pattern[i];
    } else if (ch === '*') {
      for (let j = i; j < pattern.length; j++) if (pattern[j] !== '*') return undefined;
      return { literal, star: true };
    } else if (ch === '?' || ch === '[') {
      return undefined;
    } else {
      literal += ch;
    }
  }
  return { literal, star: false };
}

/**
 * Compiles a Redis glob `pattern` into a predicate that answers, for any key, what Redis'
 * `SCAN MATCH` / `KEYS` would: `*`, `?`, `[abc]`, `[^a-z]`, `\x` with Redis' own rules and
 * edge cases (an unclosed `[`, a trailing `\`, `*` never matching an empty key), on UTF-8
 * bytes. Compile once, call per key; `literal*` patterns are a `startsWith`.
 *
 * @example
 * const match = globMatcher(`${escapeGlob('t:acme*')}:*`);
 * match('t:acme*:user:1'); // true
 * match('t:acme-corp:user:1'); // false
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const simple = simpleShape(pattern);
  if (simple !== undefined) {
    const { literal, star } = simple;
    // Redis never matches an empty key, not even with `*`.
    return star ? (key) => key !== '' && key.startsWith(literal) : (key) => key === literal;
  }
  const p = Buffer.from(pattern, 'utf8');
  return (key) => {
    const s = Buffer.from(key, 'utf8');
    return matchBytes(p, 0, p.length, s, 0, s.length, { skipLonger: false }, 0);
  };
}
