// Test-only reference: a byte-for-byte port of Redis' glob matcher (src/util.c,
// stringmatchlen_impl, case-sensitive), which SCAN MATCH, KEYS and PSUBSCRIBE use. Tests run
// escapeGlob's output through it instead of trusting our own reading of the rules.

const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

// Redis compares range bounds as (signed, on x86) `char`s.
const signed = (byte: number): number => (byte << 24) >> 24;

function matchImpl(
  p: Uint8Array,
  pStart: number,
  pLen: number,
  s: Uint8Array,
  sStart: number,
  sLen: number,
  skipLonger: { value: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  // C patterns are NUL-terminated: reading one past the end yields 0.
  const at = (i: number): number => (i < p.length ? p[i]! : 0);
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
        if (matchImpl(p, pi + 1, plen - 1, s, si, slen, skipLonger, nesting + 1)) return true;
        if (skipLonger.value) return false;
        si++;
        slen--;
      }
      skipLonger.value = true;
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
          const ch = signed(s[si]!);
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

/** Whether Redis would consider `subject` matched by the glob `pattern` (both sent as UTF-8). */
export function redisGlobMatch(pattern: string, subject: string): boolean {
  const p = Buffer.from(pattern, 'utf8');
  const s = Buffer.from(subject, 'utf8');
  return matchImpl(p, 0, p.length, s, 0, s.length, { value: false }, 0);
}
