/**
 * Escapes the characters Redis glob patterns (`SCAN MATCH`, `KEYS`) treat specially, so a
 * prefix such as `app[1]:` matches only itself. `^` and `-` are special only inside `[...]`,
 * which can no longer start once `[` is escaped.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[\\*?[\]]/g, '\\$&');
}
