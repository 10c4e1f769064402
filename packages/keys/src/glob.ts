// Redis' matcher (util.c stringmatchlen) gives `* ? [ \` a meaning anywhere, and `] ^ -`
// a meaning inside `[...]`. A backslash before any byte means that byte literally, so
// escaping all seven keeps the result safe even when a caller embeds it inside brackets.
const GLOB_SPECIAL = /[*?[\]\\^-]/g;

/**
 * Escapes `s` so that, used as (part of) a Redis `SCAN MATCH` / `KEYS` / `PSUBSCRIBE`
 * pattern, it matches exactly the string `s` and nothing else. Escapes
 * `*`, `?`, `[`, `]`, `\`, `^` and `-` with a backslash; everything else is literal in a
 * Redis glob already.
 *
 * @example
 * escapeGlob('user:*') // 'user:\\*'  — matches only the key "user:*"
 * `${escapeGlob(prefix)}*` // every key starting with `prefix`, whatever `prefix` contains
 */
export function escapeGlob(s: string): string {
  return s.replace(GLOB_SPECIAL, '\\$&');
}
