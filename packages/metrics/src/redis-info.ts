/**
 * Parses the reply of Redis `INFO` (any sections) into `field → value` strings. Section headers
 * (`# Memory`) and blank lines are skipped; `\r\n` and `\n` both end a line; a value keeps any
 * `:` after the first one (`executable:/usr/bin/redis-server`, unlike the guide's
 * `line.split(':')`), and values are not converted, so `'0'` stays distinguishable from absent.
 * A field repeated across sections keeps its last value.
 */
export function parseRedisInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  let start = 0;
  const end = text.length;
  while (start < end) {
    let stop = text.indexOf('\n', start);
    if (stop === -1) stop = end;
    let lineEnd = stop;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13 /* \r */) lineEnd--;
    const colon = text.indexOf(':', start);
    if (colon !== -1 && colon < lineEnd && text.charCodeAt(start) !== 35 /* # */) {
      const key = text.slice(start, colon).trim();
      if (key !== '') fields[key] = text.slice(colon + 1, lineEnd).trim();
    }
    start = stop + 1;
  }
  return fields;
}

/**
 * A numeric field of a parsed `INFO` reply: `null` when absent or not a finite number
 * (never `NaN`).
 */
export function infoNumber(info: Readonly<Record<string, string>>, field: string): number | null {
  const raw = info[field];
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
